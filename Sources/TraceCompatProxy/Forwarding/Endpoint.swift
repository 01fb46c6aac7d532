import TraceAnalysis

/// What the proxy knows about a request path: a bounded label for metrics, and what the tee
/// does with it. The decision itself is `EndpointClass` (TraceAnalysis), the one classifier the
/// proxy and the analyzer share; this only names it in the proxy's terms.
public struct Endpoint: Sendable, Equatable {
    /// What the analyzer gets from this exchange.
    public enum Tee: Sendable, Equatable {
        /// The request body is a trace payload we decode (v0.4 / v0.5): analysed.
        case tracePayload
        /// A trace payload in a format we do not decode (v0.7, v1.0): the body is not kept; the
        /// request is counted as not analysed, with the reason.
        case notDecoded
        /// The request body is instrumentation telemetry: analysed.
        case telemetry
        /// LLM Observability events through the EVP proxy: analysed (the v4 OpenAI stream rule).
        case llmObs
        /// The agent's answer to `GET /info` is analysed (it carries the agent version).
        case agentInfo
        /// Only counted as traffic.
        case countOnly

        /// True when the request body must be kept for the analyzer.
        public var keepsRequestBody: Bool { self == .tracePayload || self == .telemetry || self == .llmObs }
    }

    /// Metric label: a known endpoint family, never the raw path (bounded cardinality).
    public let label: String
    public let tee: Tee

    public init(method: String, uri: String) {
        let c = EndpointClass(method: method, uri: uri)
        label = c.label
        switch c.analysis {
        case .tracePayload: tee = .tracePayload
        case .notDecoded: tee = .notDecoded
        case .telemetry: tee = .telemetry
        case .llmObs: tee = .llmObs
        case .agentInfo: tee = .agentInfo
        case .countOnly: tee = .countOnly
        }
    }
}
