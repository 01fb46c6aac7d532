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
/// (`AnalysisQueue.Consumers.analyzers`), so the product's path costs no more than before.
public protocol AnalysisQueueConsumer: AnyObject {
    /// One unit of work, moved out of the queue (its body is freed when this returns).
    func consume(_ work: consuming AnalysisQueue.Work)
    /// The thread is stopping (`AnalysisQueue.drain`): what it holds must reach the store now.
    func finish()
}

extension AnalysisQueue {
    /// Which consumer each analysis thread gets.
    public enum Consumers: Sendable {
        /// One `Analyzer` per thread: the product.
        case analyzers
        /// One consumer per thread from this factory, given the queue's store (benchmarks).
        case custom(@Sendable (ReportStore) -> any AnalysisQueueConsumer)
    }
}

extension Analyzer: AnalysisQueueConsumer {
    @inline(__always)
    public func consume(_ work: consuming AnalysisQueue.Work) {
        switch work {
        case .request(let request): analyze(request)
        case .forwarded(let request): AnalysisQueue.analyze(request, with: self)
        case .agentInfo(let body, let receivedAt): analyzeAgentInfo(body: body, receivedAt: receivedAt)
        case .agentVersion(let version, let receivedAt): analyzeAgentVersion(version, receivedAt: receivedAt)
        }
    }

    public func finish() { handOverNow() }
}
