import CompatReport
import TracePayload

/// What a request path is, decided in one place for the proxy (metric label, what the tee keeps)
/// and the analyzer (how to judge it): a trace payload of a format we decode, one we forward
/// untouched without decoding, telemetry, LLM Observability events, the agent's `/info`, or
/// traffic only counted.
///
/// Paths no one knows yet are forwarded all the same, labelled `other` (bounded metric labels).
public struct EndpointClass: Sendable, Equatable {
    public enum Analysis: Sendable, Equatable {
        /// A trace payload we decode (v0.3/v0.4 as v0.4, v0.5): the body is kept and judged.
        case tracePayload(TraceFormat)
        /// A trace payload in a format we do not decode (v0.7, v1.0 "idx", other `/v0.x`): not
        /// kept, counted by endpoint as not analysed with `reason`, never as a decode error.
        case notDecoded(reason: String)
        /// Instrumentation telemetry: the body is kept and judged.
        case telemetry
        /// LLM Observability events through the EVP proxy: the body is kept and judged (V4-OPENAI-STREAM).
        case llmObs
        /// `GET /info`: the agent's answer is judged (it carries the agent version).
        case agentInfo
        /// Only counted as traffic.
        case countOnly

        /// True when the request body must be kept for the analyzer.
        public var keepsRequestBody: Bool {
            switch self {
            case .tracePayload, .telemetry, .llmObs: true
            case .notDecoded, .agentInfo, .countOnly: false
            }
        }
    }

    /// Metric label: a known endpoint family, never the raw path (bounded cardinality).
    public let label: String
    public let analysis: Analysis

    /// Where ddtrace sends LLM Observability events (`V4OpenAIStreamRule.llmobsPath`).
    public static let llmObsPath = "/evp_proxy/v2/api/v2/llmobs"
    /// Why v0.7 / v1.0 trace payloads are not decoded (spec revision "Seen but not decoded").
    public static let notDecodedReason = "trace format not decoded (dd-trace-py sends v0.4 and v0.5 only): forwarded untouched"

    /// `uri` may carry a query; it is ignored.
    public init(method: String, uri: String) {
        // The paths ddtrace posts most, decided without any string work.
        switch uri {
        case "/v0.4/traces": (label, analysis) = ("/v0.4/traces", .tracePayload(.v04)); return
        case "/v0.5/traces": (label, analysis) = ("/v0.5/traces", .tracePayload(.v05)); return
        default: break
        }
        var path = Substring(uri)
        if let q = path.firstIndex(of: "?") { path = path[..<q] }
        (label, analysis) = Self.classify(method: method, path: path)
    }

    static func classify(method: String, path: Substring) -> (String, Analysis) {
        if path.hasSuffix("/traces"), path.hasPrefix("/v") {
            if let format = TraceFormat(path: path) {
                return ("/\(path.dropFirst().prefix { $0 != "/" })/traces", .tracePayload(format))
            }
            let version = path.dropFirst(1).prefix { $0 != "/" }
            let label = version == "v0.7" || version == "v1.0" ? "/\(version)/traces" : "/v0.x/traces"
            return (label, .notDecoded(reason: notDecodedReason))
        }
        if path == "/info" { return ("/info", method == "GET" ? .agentInfo : .countOnly) }
        if path.hasPrefix("/telemetry/proxy/") { return ("/telemetry/proxy", .telemetry) }
        if path == llmObsPath { return ("/evp_proxy", .llmObs) }
        for family in families where path == family || path.hasPrefix(family + "/") {
            return (family, .countOnly)
        }
        return ("other", .countOnly)
    }

    /// Endpoint families only counted (their labels).
    static let families = [
        "/v0.6/stats", "/v0.1/pipeline_stats", "/evp_proxy", "/profiling", "/debugger", "/v0.7/config",
        "/dogstatsd", "/symdb", "/tracer_flare", "/v0.1/lambda", "/compat", "/metrics",
    ]
}
