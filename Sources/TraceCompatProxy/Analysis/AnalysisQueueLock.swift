#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The analysis queue's one mutex and its two conditions: `work` (analysis threads wait there for
/// payloads) and `idle` (`waitUntilIdle` and `drain` wait there for the threads).
///
/// Two conditions on one mutex so that an offer wakes at most one analysis thread
/// (`pthread_cond_signal`) and never the idle waiters, and a thread finishing a batch wakes only
/// the idle waiters: with `NSCondition` (one condition per mutex) every offer had to broadcast to
/// both kinds of waiter. The timed wait runs on `CLOCK_MONOTONIC` (POSIX
/// `pthread_condattr_setclock`), so a wall-clock step cannot stretch or cut a linger.
final class AnalysisQueueLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let work = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let idle = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, clockid_t(CLOCK_MONOTONIC))
        pthread_cond_init(work, &attributes)
        pthread_cond_init(idle, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(idle)
        pthread_cond_destroy(work)
        pthread_mutex_destroy(mutex)
        idle.deallocate()
        work.deallocate()
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always) func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits (lock held) until an offer signals or `wakeWork` broadcasts.
    func waitForWork() { pthread_cond_wait(work, mutex) }

    /// Waits (lock held) at most `nanoseconds` for a signal; spurious wakeups happen, so callers
    /// re-check their state either way.
    func waitForWork(nanoseconds: UInt64) {
        var deadline = timespec()
        clock_gettime(clockid_t(CLOCK_MONOTONIC), &deadline)
        let total = UInt64(deadline.tv_nsec) + nanoseconds
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        pthread_cond_timedwait(work, mutex, &deadline)
    }

    /// Wakes one analysis thread.
    func signalWork() { pthread_cond_signal(work) }
    /// Wakes every analysis thread (shutdown).
    func wakeWork() { pthread_cond_broadcast(work) }

    /// Waits (lock held) until `wakeIdleWaiters`.
    func waitForIdle() { pthread_cond_wait(idle, mutex) }
    func wakeIdleWaiters() { pthread_cond_broadcast(idle) }
}
