/// What the proxy knows about a request path: a bounded label for metrics, and what the tee
/// does with it. Paths no one knows yet are forwarded all the same, labelled `other`.
public struct Endpoint: Sendable, Equatable {
    /// What the analyzer gets from this exchange.
    public enum Tee: Sendable, Equatable {
        /// The request body is a trace payload (v0.4 / v0.5 …): analysed.
        case tracePayload
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

    /// Where ddtrace sends LLM Observability events (`V4OpenAIStreamRule.llmobsPath`).
    static let llmObsPath = "/evp_proxy/v2/api/v2/llmobs"


    /// Metric label: a known endpoint family, never the raw path (bounded cardinality).
    public let label: String
    public let tee: Tee

    public init(method: String, uri: String) {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        (label, tee) = Self.classify(method: method, path: path)
    }

    static func classify(method: String, path: String) -> (String, Tee) {
        if path.hasPrefix("/v0."), path.hasSuffix("/traces") {
            let version = path.dropFirst(1).prefix { $0 != "/" }
            let known = ["v0.3", "v0.4", "v0.5", "v0.7"]
            return (known.contains(String(version)) ? "/\(version)/traces" : "/v0.x/traces", .tracePayload)
        }
        if path == "/info" { return ("/info", method == "GET" ? .agentInfo : .countOnly) }
        if path.hasPrefix("/telemetry/proxy/") { return ("/telemetry/proxy", .telemetry) }
        if path == llmObsPath { return ("/evp_proxy", .llmObs) }
        let families = [
            "/v0.6/stats", "/v0.1/pipeline_stats", "/evp_proxy", "/profiling", "/debugger", "/v0.7/config",
            "/dogstatsd", "/symdb", "/tracer_flare", "/v0.1/lambda", "/compat", "/metrics",
        ]
        for family in families where path == family || path.hasPrefix(family + "/") {
            return (family, .countOnly)
        }
        return ("other", .countOnly)
    }
}
