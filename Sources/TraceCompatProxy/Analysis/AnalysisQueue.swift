import CompatReport
import Foundation
import TraceAnalysis
#if canImport(Glibc)
import Glibc
#endif

/// The one seam between forwarding and analysis: a bounded queue drained by dedicated threads,
/// each with its own `Analyzer`, which folds what it finds into tables of its own and hands them
/// to the shared `ReportStore` in batches (every second, on every `snapshot()`, and when the
/// thread stops).
///
/// `offer` never blocks: when the queue is full the work is refused and the caller counts it as
/// `not_analysed`; the request has already been forwarded either way.
///
/// Waking is batched (`AnalysisQueueLimits`), because a wake per payload cost more than analysing
/// a small payload: a thread that empties the queue lingers (a timed wait of
/// `lingerNanoseconds` that offers do not interrupt) and then takes everything that came, up to
/// `batchPayloads`, under one lock; a linger that finds nothing parks the thread, and only an
/// offer that finds a thread parked (or the queue past `lingerWakePayloads` /
/// `lingerWakeBytes`) signals one, once until a thread wakes. The caps are unchanged: an offer
/// beyond them is refused whether or not a thread is lingering, so memory stays bounded and
/// `not_analysed` exact. `activity` counts a batch as in flight from the moment it is taken to
/// the end of its last payload, so `idle` is exact.
public final class AnalysisQueue: @unchecked Sendable {
    /// One unit of analysis.
    public enum Work: Sendable {
        case request(CapturedRequest)
        /// A request forwarded by the proxy: its body is made contiguous on the analysis thread.
        case forwarded(ForwardedRequest)
        case agentInfo(body: [UInt8], receivedAt: Date)
        /// The `Datadog-Agent-Version` header of an agent's answer.
        case agentVersion(String, receivedAt: Date)

        var size: Int {
            switch self {
            case .request(let request): return request.body.count
            case .forwarded(let request): return request.body.count
            case .agentInfo(let body, _): return body.count
            case .agentVersion: return 0
            }
        }
    }

    public let capacity: Int
    /// Body bytes waiting at most (payloads can be up to 25 MiB each, so a count alone does
    /// not bound memory). Bodies still being received for the tee count too (`reserve`), so
    /// this bounds what analysis holds in memory, not only the queue.
    public let maxBytes: Int
    /// The default `queue_max_bytes` (`ProxyLimits.analysisQueueMaxBytes`).
    public static let defaultMaxBytes = ProxyLimits.analysisQueueMaxBytes
    /// How long a thread that emptied the queue waits before looking again (nanoseconds).
    public let lingerNanoseconds: UInt64
    /// An offer that brings the queue to this many payloads, or `wakeBytes` held, ends a linger.
    let wakePayloads: Int
    let wakeBytes: Int
    private let lock = AnalysisQueueLock()
    private var items: [Work?] = []
    private var head = 0
    private var count = 0
    private var bytes = 0
    private var busy = 0
    private var accepting = true
    private var stopping = false
    private var threadCount: Int
    private var finished = 0
    /// Threads in an untimed wait (woken only by a signal), and in a linger.
    private var parked = 0
    private var lingering = 0
    /// A signal was sent and no thread has woken since: further offers need not send another.
    private var wakePending = false
    /// Callers of `waitUntilIdle` waiting (a finished batch wakes them only if there are any).
    private var idleWaiters = 0
    /// Kernel thread IDs of the threads that have started (`threadIDs()`).
    private var kernelThreadIDs: [Int32] = []

    /// `lingerNanoseconds`: how long a thread that emptied the queue waits for more before it
    /// looks again (`AnalysisQueueLimits.lingerNanoseconds`; 0 looks again at once).
    /// `consumers`: what each thread does with a payload (`AnalysisQueueConsumer`): an
    /// `Analyzer` into `store`, unless a benchmark injects its own.
    public init(capacity: Int, maxBytes: Int = AnalysisQueue.defaultMaxBytes, threads threadCount: Int,
                priority: AnalysisPriority = .idle, store: ReportStore,
                lingerNanoseconds: UInt64 = AnalysisQueueLimits.lingerNanoseconds, consumers: Consumers = .analyzers) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(1, maxBytes)
        self.lingerNanoseconds = lingerNanoseconds
        self.wakePayloads = max(1, min(AnalysisQueueLimits.lingerWakePayloads, self.capacity / 4))
        self.wakeBytes = max(1, min(AnalysisQueueLimits.lingerWakeBytes, self.maxBytes / 4))
        self.threadCount = max(1, threadCount)
        self.items = Array(repeating: nil, count: self.capacity)
        for index in 0..<self.threadCount {
            let thread = Thread { [self] in
                Self.nameCurrentThread("\(ProxyLimits.analysisThreadNamePrefix)\(index)")
                priority.applyToCurrentThread()
                switch consumers {
                // Statically a ProxyAnalyzer: `work` is specialised for it, no dynamic call per payload.
                case .analyzers: self.work(with: ProxyAnalyzer(store: store))
                case .custom(let make): self.work(with: make(store))
                }
            }
            thread.start()
        }
    }

    /// Gives the calling thread a kernel name (`/proc/PID/task/TID/comm`, `top -H`, `perf`), so
    /// that tools and the benchmark harness find the analysis threads by name. Foundation's
    /// `Thread.name` on Linux stays inside Foundation; `pthread_setname_np(3)` is what the kernel
    /// sees, and it keeps at most 15 bytes (the name is cut to fit rather than refused). glibc
    /// declares it only under `_GNU_SOURCE`, which Swift's Glibc module is not built with, so it
    /// is looked up once with `dlsym` (glibc ≥ 2.12 has it); without it the thread stays unnamed.
    static func nameCurrentThread(_ name: String) {
        #if os(Linux)
        guard let setName = setThreadName else { return }
        _ = String(decoding: name.utf8.prefix(15), as: UTF8.self).withCString { setName(pthread_self(), $0) }
        #endif
    }

    /// The calling thread's kernel ID (`gettid(2)`, glibc ≥ 2.30, looked up like
    /// `pthread_setname_np`); -1 without it.
    static func currentKernelThreadID() -> Int32 {
        #if os(Linux)
        return getThreadID?() ?? -1
        #else
        return -1
        #endif
    }

    #if os(Linux)
    private typealias SetThreadName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    private static let setThreadName: SetThreadName? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pthread_setname_np") else { return nil }
        return unsafeBitCast(symbol, to: SetThreadName.self)
    }()
    private typealias GetThreadID = @convention(c) () -> Int32
    private static let getThreadID: GetThreadID? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "gettid") else { return nil }
        return unsafeBitCast(symbol, to: GetThreadID.self)
    }()
    #endif

    /// The kernel thread IDs of this queue's analysis threads (`/proc/self/task/TID`), once every
    /// one has started (its name and priority are set by then): what tools and tests look at to
    /// see this queue's threads and no other's.
    public func threadIDs() -> [Int32] {
        lock.withLock {
            while kernelThreadIDs.count < threadCount && finished < threadCount { lock.waitForIdle() }
            return kernelThreadIDs
        }
    }

    /// What `/compat/health` reports of analysis: payloads waiting, payloads being analysed, and
    /// whether both are zero (read under one lock, so `idle` is never a mix of two moments).
    public struct Activity: Sendable, Equatable {
        public var queued: Int
        public var inFlight: Int
        public var idle: Bool { queued == 0 && inFlight == 0 }

        public init(queued: Int, inFlight: Int) {
            self.queued = queued
            self.inFlight = inFlight
        }
    }

    /// Queued and in-flight payloads, read together. A batch a thread took counts in flight
    /// until its last payload is analysed.
    public var activity: Activity {
        lock.withLock { Activity(queued: count, inFlight: busy) }
    }

    /// Payloads waiting (not counting ones being analysed).
    public var depth: Int {
        lock.withLock { count }
    }

    /// Body bytes held for analysis: queued, being received for the tee (`reserve`), not
    /// counting payloads being analysed.
    public var heldBytes: Int {
        lock.withLock { bytes }
    }

    /// Queues `work` for analysis; false when the queue is full or draining.
    public func offer(_ work: Work) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let size = work.size
        // One payload alone may always wait (else a payload above maxBytes could never be analysed).
        guard accepting, count < capacity, count == 0 || bytes + size <= maxBytes else { return false }
        enqueue(work)
        bytes += size
        wakeIfNeeded()
        return true
    }

    /// Counts `size` bytes of a body being received for the tee against `maxBytes` before they
    /// are kept; false when they do not fit (the body is then not kept, and counted
    /// `not_analysed` by the caller). Give the bytes back with `release`, or hand them over with
    /// `offer(_:reserved:)`.
    public func reserve(_ size: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        // One payload alone may always be kept (else a payload above maxBytes could never be analysed).
        guard accepting, bytes == 0 || bytes + size <= maxBytes else { return false }
        bytes += size
        return true
    }

    /// Gives back bytes taken with `reserve` (a tee body dropped before it was queued).
    public func release(_ size: Int) {
        guard size > 0 else { return }
        lock.withLock { bytes -= size }
    }

    /// Queues `work` whose body bytes were counted with `reserve` already (`reserved` of them);
    /// false when the queue is full or draining, and the reserved bytes are given back.
    public func offer(_ work: Work, reserved: Int) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard accepting, count < capacity else {
            bytes -= reserved
            return false
        }
        enqueue(work)
        bytes += work.size - reserved
        wakeIfNeeded()
        return true
    }

    /// Lock held.
    @inline(__always)
    private func enqueue(_ work: Work) {
        let tail = head + count
        items[tail < capacity ? tail : tail - capacity] = work
        count += 1
    }

    /// After an offer (lock held): signals one thread if one is parked, or if the queue reached a
    /// wake threshold while threads linger; not again until a thread has woken. Otherwise no
    /// system call: a lingering thread looks by itself when its linger ends.
    @inline(__always)
    private func wakeIfNeeded() {
        guard !wakePending else { return }
        if parked > 0 || (lingering > 0 && (count >= wakePayloads || bytes >= wakeBytes)) {
            wakePending = true
            lock.signalWork()
        }
    }

    /// Stops accepting, lets the threads finish what is queued, and waits for them (shutdown).
    public func drain() {
        lock.lock()
        accepting = false
        stopping = true
        lock.wakeWork()
        while finished < threadCount { lock.waitForIdle() }
        lock.unlock()
    }

    /// Waits until nothing is queued or being analysed (tests, admin snapshots); ends a linger so
    /// as not to wait for it.
    public func waitUntilIdle() {
        lock.lock()
        idleWaiters += 1
        while count > 0 || busy > 0 {
            if count > 0 && !wakePending && (parked > 0 || lingering > 0) {
                wakePending = true
                lock.signalWork()
            }
            lock.waitForIdle()
        }
        idleWaiters -= 1
        lock.unlock()
    }

    private func work<Consumer: AnalysisQueueConsumer>(with consumer: Consumer) {
        var batch: [Work?] = []
        batch.reserveCapacity(AnalysisQueueLimits.batchPayloads)
        // The last wait was a linger, or the thread is new: the next empty look parks (a linger
        // follows a batch only, when more is likely to come).
        var lingered = true
        lock.lock()
        kernelThreadIDs.append(Self.currentKernelThreadID())
        lock.wakeIdleWaiters()  // threadIDs()
        while true {
            if count > 0 {
                // Up to batchPayloads, and batchBytes unless the first payload alone is larger.
                var taken = 0, takenBytes = 0
                while taken < count && taken < AnalysisQueueLimits.batchPayloads {
                    let size = items[head]!.size
                    guard taken == 0 || takenBytes + size <= AnalysisQueueLimits.batchBytes else { break }
                    batch.append(items[head].take())  // moved, not copied (no retain/release of its parts)
                    head = head + 1 == capacity ? 0 : head + 1
                    taken += 1
                    takenBytes += size
                }
                count -= taken
                bytes -= takenBytes
                busy += taken
                lock.unlock()

                for i in batch.indices {
                    // Moved out of the batch: its body is freed after its analysis, not at the end of the batch.
                    consumer.consume(batch[i].take()!)
                }
                batch.removeAll(keepingCapacity: true)

                lock.lock()
                busy -= taken
                if idleWaiters > 0 && count == 0 && busy == 0 { lock.wakeIdleWaiters() }
                lingered = false
                continue
            }
            if stopping { break }
            if lingered || lingerNanoseconds == 0 {
                parked += 1
                lock.waitForWork()
                parked -= 1
            } else {
                lingering += 1
                lock.waitForWork(nanoseconds: lingerNanoseconds)
                lingering -= 1
                lingered = true
            }
            wakePending = false
        }
        lock.unlock()
        consumer.finish()  // what this thread folded reaches the store before drain() returns
        lock.withLock {
            finished += 1
            lock.wakeIdleWaiters()
        }
    }
}

extension ForwardedRequest {
    /// The request-target as the client sent it (RFC 9112 §3.2): the path, with any query.
    public var requestTarget: String { uri }

    /// Lends the body as one contiguous buffer, for the call only. A body the tee holds in one
    /// buffer (small parts gathered into its own buffer, or one NIO read: the small payloads,
    /// and larger ones read at once) is read where it lies instead of copied into an array per
    /// payload; only a body in several parts is copied (`TeeBody.contiguous()`), the one copy a
    /// decoder needs. Public so that a benchmark's consumer gets the body exactly as `Analyzer` does.
    public func withContiguousBody<Result>(_ read: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        if body.parts.count == 1 { return try body.parts[0].withUnsafeReadableBytes(read) }
        return try body.contiguous().withUnsafeBytes(read)
    }
}

/// How analysis threads share the CPU with the event loops (`analysis_priority`). Either way,
/// when CPU is short forwarding goes first and the queue overflows into `not_analysed` instead of
/// answers waiting.
public enum AnalysisPriority: String, Sendable, Equatable, CaseIterable {
    /// `SCHED_IDLE`: analysis runs only on CPU nothing else wants (the default). In a quick A/B
    /// (the proxy alone, 2 cores, medium payloads at 3,500 req/s) p99 went from 3.1 to 4.8 ms
    /// with `low` to 1.1 to 1.6 ms, and more payloads went `not_analysed` (59% against 30%);
    /// see Benchmarks/RESULTS.md for the harness runs.
    case idle
    /// Nice 10: analysis still gets a share of a busy CPU (more of the traffic analysed under
    /// load, answers a few milliseconds later at p99 when the CPU is saturated).
    case low

    /// `SCHED_IDLE` in <sched.h> (Linux; only defined there with _GNU_SOURCE).
    static let schedIdle: Int32 = 5

    /// Applies to the calling thread (Linux keeps the policy and the nice value per thread);
    /// false when the kernel refused.
    @discardableResult
    public func applyToCurrentThread() -> Bool {
        #if os(Linux)
        switch self {
        case .idle:
            var param = sched_param(sched_priority: 0)
            return sched_setscheduler(0, Self.schedIdle, &param) == 0
        case .low:
            // who = 0: the calling thread.
            return setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, ProxyLimits.analysisLowNiceness) == 0
        }
        #else
        return false
        #endif
    }
}
