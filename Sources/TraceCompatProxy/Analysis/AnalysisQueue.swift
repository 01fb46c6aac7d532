import CompatReport
import Foundation
import TraceAnalysis
#if canImport(Glibc)
import Glibc
#endif

/// The one seam between forwarding and analysis: a bounded queue drained by dedicated threads,
/// each with its own `Analyzer`, which folds what it finds into tables of its own and hands them
/// to the shared `ReportStore` in batches (every 250 ms, on every `snapshot()`, and when the
/// thread stops).
///
/// `offer` never blocks: when the queue is full the work is refused and the caller counts it as
/// `not_analysed`; the request has already been forwarded either way.
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
    private let condition = NSCondition()
    private var items: [Work?] = []
    private var head = 0
    private var count = 0
    private var bytes = 0
    private var busy = 0
    private var accepting = true
    private var stopping = false
    private var threads: [Thread] = []
    private var finished = 0

    public init(capacity: Int, maxBytes: Int = AnalysisQueue.defaultMaxBytes, threads threadCount: Int,
                priority: AnalysisPriority = .idle, store: ReportStore) {
        self.capacity = max(1, capacity)
        self.maxBytes = max(1, maxBytes)
        self.items = Array(repeating: nil, count: self.capacity)
        for index in 0..<max(1, threadCount) {
            let thread = Thread { [self] in
                Self.nameCurrentThread("\(ProxyLimits.analysisThreadNamePrefix)\(index)")
                priority.applyToCurrentThread()
                self.work(with: Analyzer(store: store))
            }
            threads.append(thread)
        }
        for thread in self.threads { thread.start() }
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

    #if os(Linux)
    private typealias SetThreadName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    private static let setThreadName: SetThreadName? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "pthread_setname_np") else { return nil }
        return unsafeBitCast(symbol, to: SetThreadName.self)
    }()
    #endif

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

    /// Queued and in-flight payloads, read together.
    public var activity: Activity {
        condition.lock()
        defer { condition.unlock() }
        return Activity(queued: count, inFlight: busy)
    }

    /// Payloads waiting (not counting ones being analysed).
    public var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    /// Body bytes held for analysis: queued, being received for the tee (`reserve`), not
    /// counting payloads being analysed.
    public var heldBytes: Int {
        condition.lock()
        defer { condition.unlock() }
        return bytes
    }

    /// Queues `work` for analysis; false when the queue is full or draining.
    public func offer(_ work: Work) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let size = work.size
        // One payload alone may always wait (else a payload above maxBytes could never be analysed).
        guard accepting, count < capacity, count == 0 || bytes + size <= maxBytes else { return false }
        items[(head + count) % capacity] = work
        count += 1
        bytes += size
        condition.broadcast()  // not signal(): one condition serves workers and waitUntilIdle/drain
        return true
    }

    /// Counts `size` bytes of a body being received for the tee against `maxBytes` before they
    /// are kept; false when they do not fit (the body is then not kept, and counted
    /// `not_analysed` by the caller). Give the bytes back with `release`, or hand them over with
    /// `offer(_:reserved:)`.
    public func reserve(_ size: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        // One payload alone may always be kept (else a payload above maxBytes could never be analysed).
        guard accepting, bytes == 0 || bytes + size <= maxBytes else { return false }
        bytes += size
        return true
    }

    /// Gives back bytes taken with `reserve` (a tee body dropped before it was queued).
    public func release(_ size: Int) {
        guard size > 0 else { return }
        condition.lock()
        bytes -= size
        condition.unlock()
    }

    /// Queues `work` whose body bytes were counted with `reserve` already (`reserved` of them);
    /// false when the queue is full or draining, and the reserved bytes are given back.
    public func offer(_ work: Work, reserved: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard accepting, count < capacity else {
            bytes -= reserved
            return false
        }
        items[(head + count) % capacity] = work
        count += 1
        bytes += work.size - reserved
        condition.broadcast()  // not signal(): one condition serves workers and waitUntilIdle/drain
        return true
    }

    /// Stops accepting, lets the threads finish what is queued, and waits for them (shutdown).
    public func drain() {
        condition.lock()
        accepting = false
        stopping = true
        condition.broadcast()
        while finished < threads.count {
            condition.wait()
        }
        condition.unlock()
    }

    /// Waits until nothing is queued or being analysed (tests, admin snapshots).
    public func waitUntilIdle() {
        condition.lock()
        while count > 0 || busy > 0 { condition.wait() }
        condition.unlock()
    }

    private func work(with analyzer: Analyzer) {
        while true {
            condition.lock()
            while count == 0 && !stopping { condition.wait() }
            if count == 0 && stopping {
                condition.unlock()
                analyzer.handOverNow()  // what this thread folded reaches the store before drain() returns
                condition.lock()
                finished += 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let work = items[head]!
            items[head] = nil
            head = (head + 1) % capacity
            count -= 1
            bytes -= work.size
            busy += 1
            condition.unlock()

            switch work {
            case .request(let request): analyzer.analyze(request)
            case .forwarded(let request): analyzer.analyze(request.captured())
            case .agentInfo(let body, let receivedAt): analyzer.analyzeAgentInfo(body: body, receivedAt: receivedAt)
            case .agentVersion(let version, let receivedAt): analyzer.analyzeAgentVersion(version, receivedAt: receivedAt)
            }

            condition.lock()
            busy -= 1
            condition.broadcast()
            condition.unlock()
        }
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
