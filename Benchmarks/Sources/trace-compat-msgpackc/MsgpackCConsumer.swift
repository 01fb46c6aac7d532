import CompatReport
import Foundation
import MsgpackCBaseline
import Synchronization
import TraceCompatProxy
import TracePayload

/// The msgpack-c floor in the proxy (issue 12): what an analysis thread of `trace-compat-msgpackc`
/// does with a payload instead of analysing it. A trace payload's body is made contiguous exactly
/// as the `Analyzer`'s is (`ForwardedRequest.withContiguousBody`: borrowed from the tee's buffer,
/// one copy when in several parts), unpacked with `msgpack_unpack_next` into a fresh zone and
/// walked (`msgpack_baseline_decode`, the loop benchmark's baseline), and counted. Nothing else:
/// no header strings, no rules, no report tables.
///
/// The counts reach the store as the `Analyzer`'s do (a `ReportContributor`, handed over on every
/// snapshot and when the thread stops), so `/compat/report.json`'s `trace_payloads` and
/// `/compat/health`'s `idle` mean for this binary what they mean for `trace-compat`, which is
/// what Benchmarks/harness/analysis_cost.py reads. Everything else in its report stays empty.
final class MsgpackCConsumer: AnalysisQueueConsumer, ReportContributor, @unchecked Sendable {
    struct Counts {
        var v04 = 0, v05 = 0
        /// Payloads msgpack-c rejected (none on the fixtures), reported as the proxy error
        /// `msgpackc_rejected` so that a wrong input shows.
        var rejected = 0
    }

    let store: ReportStore
    private let counts = Mutex(Counts())
    /// What the walks summed, kept so that no work can be left out (read by nobody).
    private(set) var checksum: UInt64 = 0

    init(store: ReportStore) {
        self.store = store
        store.register(self)
    }

    func consume(_ work: consuming AnalysisQueue.Work) {
        guard case .forwarded(let request) = work, let format = TraceFormat(path: request.requestTarget) else { return }
        var sum: UInt64 = 0, objects: UInt64 = 0
        let rc = request.withContiguousBody { body in
            msgpack_baseline_decode(body.baseAddress?.assumingMemoryBound(to: CChar.self), body.count, &sum, &objects)
        }
        checksum &+= sum
        counts.withLock {
            switch format {
            case .v04: $0.v04 += 1
            case .v05: $0.v05 += 1
            }
            if rc != 0 { $0.rejected += 1 }
        }
    }

    func finish() { handOver() }

    /// Records the payloads counted since the last hand-over into the store.
    func handOver() {
        let taken = counts.withLock { counts in
            defer { counts = Counts() }
            return counts
        }
        guard taken.v04 + taken.v05 > 0 else { return }
        var batch = Report()
        if taken.v04 > 0 { batch.traffic.tracePayloads[TraceFormat.v04.rawValue] = taken.v04 }
        if taken.v05 > 0 { batch.traffic.tracePayloads[TraceFormat.v05.rawValue] = taken.v05 }
        if taken.rejected > 0 { batch.traffic.proxyErrors["msgpackc_rejected"] = ["trace payloads": taken.rejected] }
        store.record(batch)
    }
}
