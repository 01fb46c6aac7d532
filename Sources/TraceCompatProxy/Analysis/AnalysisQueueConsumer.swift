import CompatReport
import Foundation
import TraceAnalysis

/// What an analysis thread does with each unit of work the queue hands it: the product's
/// `Analyzer` (the default), or a stand-in a benchmark injects.
///
/// It exists so that the analysis can be judged against a floor measured under the same
/// conditions (issue 12): the benchmark `trace-compat-msgpackc` (Benchmarks/) runs this same
/// proxy with a consumer that only unpacks each body with msgpack-c, on the same queue, thread
/// and priority, with the body arriving the same way (fresh memory, one `ForwardedRequest`).
/// The queue calls `consume` once per payload; for the default it is specialised for `Analyzer`
/// (`AnalysisQueue.Consumers.analyzers`: `ProxyAnalyzer`), so the product's path costs no more than before.
public protocol AnalysisQueueConsumer: AnyObject {
    /// One unit of work, moved out of the queue (its body is freed when this returns).
    func consume(_ work: consuming AnalysisQueue.Work)
    /// The thread is stopping (`AnalysisQueue.drain`): what it holds must reach the store now.
    func finish()
}

extension AnalysisQueue {
    /// Which consumer each analysis thread gets.
    public enum Consumers: Sendable {
        /// One `ProxyAnalyzer` per thread (an `Analyzer` and its header cache): the product.
        case analyzers
        /// One consumer per thread from this factory, given the queue's store (benchmarks).
        case custom(@Sendable (ReportStore) -> any AnalysisQueueConsumer)
    }
}

/// The product's consumer, one per analysis thread: its `Analyzer`, and the cache of the tracer
/// header strings of the last request it read (`TracerHeaderCache`: an app sends the same ones
/// on every payload).
final class ProxyAnalyzer: AnalysisQueueConsumer {
    let analyzer: Analyzer
    private var headers = TracerHeaderCache()

    init(store: ReportStore) { analyzer = Analyzer(store: store) }

    @inline(__always)
    func consume(_ work: consuming AnalysisQueue.Work) {
        switch work {
        case .request(let request): analyzer.analyze(request)
        case .forwarded(let request):
            // The body is made contiguous by `withContiguousBody` (borrowed where the tee holds it
            // in one buffer, one copy when in several parts).
            let head = request.capturedHead(using: &headers)
            _ = request.withContiguousBody { analyzer.analyze(head, body: $0) }
        case .agentInfo(let body, let receivedAt): analyzer.analyzeAgentInfo(body: body, receivedAt: receivedAt)
        case .agentVersion(let version, let receivedAt): analyzer.analyzeAgentVersion(version, receivedAt: receivedAt)
        }
    }

    func finish() { analyzer.handOverNow() }
}
