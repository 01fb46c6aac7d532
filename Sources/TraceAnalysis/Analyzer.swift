import CompatReport
import Foundation

/// Decodes one captured request, applies the v4 rules, and records the outcome in a `ReportStore`.
///
/// Shared by the proxy (on its analysis threads) and `trace-compat audit`. Not thread-safe itself:
/// use one Analyzer per analysis thread; the ReportStore they share is.
/// INTERFACE STUB (issue 3 fills it in; issue 4 codes against it).
public final class Analyzer {
    public let store: ReportStore

    public init(store: ReportStore) {
        self.store = store
    }

    /// Judges one request (trace payload, telemetry, anything else is only counted as traffic).
    public func analyze(_ request: CapturedRequest) {
        store.countRequest(endpoint: request.path)
    }

    /// Judges the agent's answer to `GET /info` (carries the agent version).
    public func analyzeAgentInfo(body: [UInt8], receivedAt: Date = Date()) {}
}
