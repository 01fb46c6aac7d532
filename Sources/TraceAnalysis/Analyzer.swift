import CompatReport
import CompatRules
import Foundation
import Synchronization
import MessagePack
import TracePayload

/// Decodes one captured request, applies the v4 rules, and folds the outcome into tables of its
/// own that it hands to a `ReportStore` in batches.
///
/// Shared by the proxy (on its analysis threads) and `trace-compat audit`. One Analyzer per
/// analysis thread; it registers with its store, which asks it to hand over on every
/// `snapshot()` (its own lock makes that safe from another thread), and it hands over by itself
/// at most every `AnalysisLimits.handOverInterval` and when it goes away. A snapshot taken while
/// an analyzer is mid-request gets that analyzer's tables right after the request (it never waits
/// for an analysis thread: see `handOver()`).
///
/// Cost model: a span without findings costs one walk of its meta and metrics with a first-byte
/// test per value, a hash of its app name, and no allocation. Nothing is built per payload: no
/// `Report`, no store lock; strings are copied only for a new finding group, resources are
/// normalised (`ResourceShape`) only for spans with a finding, and groups are bounded
/// (`ReportLimits`) so a thread's tables stay small between hand-overs whatever the traffic.
public final class Analyzer: ReportContributor, @unchecked Sendable {
    public let store: ReportStore

    /// Guards `state`: taken once per request by the analysis thread (uncontended) and by
    /// `handOver()` when the store asks from another thread. A `Mutex`, whose uncontended lock
    /// and unlock are one compare-and-exchange each inlined here; `NSLock` was a class method
    /// and a call into libc's `pthread_mutex_*` on every payload, more code in the instruction
    /// cache (Benchmarks/RESULTS.md "Small payloads in time").
    private let lock = Mutex<Void>(())
    /// Every access is under `lock`, so the runtime's exclusivity check on a class's stored
    /// property (`swift_beginAccess`, a thread-local access set) is not needed: it was a call
    /// into the runtime per payload, and its code in the instruction cache.
    @exclusivity(unchecked) private var state: AnalysisState

    /// `handOverInterval`: nanoseconds between two hand-overs at most (a benchmark that must not
    /// depend on the clock passes `.max` and calls `handOverNow()` itself).
    public init(store: ReportStore, handOverInterval: UInt64 = AnalysisLimits.handOverInterval) {
        self.store = store
        state = AnalysisState(store: store, handOverInterval: handOverInterval)
        store.register(self)
    }

    deinit { handOverLocked() }

    /// Set by `handOver()` when the analyzer was busy: it hands over right after its request.
    private let handOverRequested = Atomic<Bool>(false)

    /// Hands everything folded since the last hand-over to the store, and starts afresh; when
    /// the analyzer is in the middle of a request, it hands over right after it instead. Never
    /// waits for the analysis thread: it runs at idle priority and may not get the CPU for long
    /// under load, and the store's snapshot (the flush, the admin routes) must not wait for it.
    public func handOver() {
        if lock.withLockIfAvailable({ _ in handOverLocked() }) == nil {
            handOverRequested.store(true, ordering: .releasing)
        }
    }

    /// Hands over now, waiting for the current request if there is one (shutdown, tests).
    public func handOverNow() {
        lock.withLock { _ in handOverLocked() }
    }

    /// After a request (lock held): hands over when the interval passed or the store asked.
    @inline(__always)
    private func handOverIfDue() {
        // A mutating call: reading a computed property of `state` copied the whole state (a
        // retain and a release of each of its references) once per payload. The request flag is
        // read before it is cleared: a plain load where an exchange is a locked instruction.
        if state.handOverIsDue() || (handOverRequested.load(ordering: .relaxed) && handOverRequested.exchange(false, ordering: .acquiring)) {
            handOverLocked()
        }
    }

    private func handOverLocked() {
        if let batch = state.takeBatch() { store.record(batch) }
    }

    // MARK: - Requests

    /// What became of one request: judged, or not decodable (with the reason and byte offset).
    public struct Outcome: Sendable, Equatable {
        public var decodeError: (reason: String, offset: Int)?
        public static func == (a: Outcome, b: Outcome) -> Bool { a.decodeError?.reason == b.decodeError?.reason && a.decodeError?.offset == b.decodeError?.offset }
    }

    /// Judges one request (trace payload, telemetry, anything else is only counted as traffic).
    @discardableResult
    public func analyze(_ request: CapturedRequest) -> Outcome {
        request.body.withUnsafeBytes { analyze(request, body: $0) }
    }

    /// Judges `request` with `body` as its body (`request.body` is not read): for a caller that
    /// holds the bytes elsewhere (the proxy's tee keeps the buffer NIO read them into) and would
    /// otherwise copy them into an array per payload. `body` is borrowed for the call only.
    @discardableResult
    public func analyze(_ request: CapturedRequest, body: UnsafeRawBufferPointer) -> Outcome {
        lock.withLock { _ in
            let outcome = state.analyze(request, body: body)
            handOverIfDue()
            return outcome
        }
    }

    /// Records a file or request that could not even be read as a request (audit: a foreign or
    /// damaged file), counted with the decode errors.
    public func recordUnreadable(source: String, endpoint: String = "(file)", reason: String, offset: Int, at: Date = Date()) {
        lock.withLock { _ in state.recordUnreadable(source: source, endpoint: endpoint, reason: reason, offset: offset, at: at) }
    }

    /// Judges the `Datadog-Agent-Version` header of an agent's answer (the Agent's trace receiver
    /// sets it on every response, spec revision "Agent version on every answer"), so V4-AGENT
    /// does not depend on the app calling `/info` through the proxy.
    public func analyzeAgentVersion(_ version: String, receivedAt: Date = Date()) {
        lock.withLock { _ in
            state.analyzeAgentVersion(version, receivedAt: receivedAt)
            handOverIfDue()
        }
    }

    /// Judges the agent's answer to `GET /info` (carries the agent version).
    public func analyzeAgentInfo(body: [UInt8], receivedAt: Date = Date()) {
        analyzeAgentInfo(body: body, receivedAt: receivedAt, source: "proxy")
    }

    @discardableResult
    public func analyzeAgentInfo(body: [UInt8], receivedAt: Date, source: String) -> Outcome {
        lock.withLock { _ in
            let outcome = state.analyzeAgentInfo(body: body, receivedAt: receivedAt, source: source)
            handOverIfDue()
            return outcome
        }
    }

    /// The language a request declares; nil when it does not say (judged as Python).
    static func language(of request: CapturedRequest) -> String? {
        request.tracerHeaders().language?.lowercased()
    }
    static func reasonText(_ error: MessagePackError) -> String {
        let d = error.description
        let suffix = " at byte offset \(error.offset)"
        return d.hasSuffix(suffix) ? String(d.dropLast(suffix.count)) : d
    }
}
