/// Answers as the agent would when there is no agent (`--upstream none`): audits without one.
///
/// Trace endpoints get `{"rate_by_service":{}}` (the agent's answer with no sampling rates yet),
/// `GET /info` a plausible agent document listing the endpoints a v3/v4 tracer looks for, and
/// everything else `200 {}`.
public enum SinkResponder {
    /// The agent version the sink claims in `/info`.
    public static let agentVersion = "7.65.0"

    public static let infoDocument = """
        {"version":"\(agentVersion)","git_commit":"trace-compat-sink","endpoints":["/v0.3/traces","/v0.4/traces","/v0.5/traces",\
        "/v0.7/traces","/profiling/v1/input","/telemetry/proxy/","/v0.6/stats","/v0.1/pipeline_stats","/evp_proxy/v1/",\
        "/evp_proxy/v2/","/evp_proxy/v3/","/evp_proxy/v4/","/debugger/v1/input","/debugger/v1/diagnostics","/symdb/v1/input",\
        "/dogstatsd/v1/proxy","/dogstatsd/v2/proxy","/tracer_flare/v1","/v0.7/config"],"client_drop_p0s":true,\
        "span_meta_structs":true,"long_running_spans":true,"evp_proxy_allowed_headers":["Content-Type","Accept-Encoding",\
        "Content-Encoding","User-Agent","DD-CI-PROVIDER-NAME"],"config":{"default_env":"none","target_tps":10,"max_eps":200,\
        "receiver_port":8126,"receiver_socket":"","connection_limit":0,"receiver_timeout":0,"max_request_bytes":\(ProxyConfiguration.agentMaxPayloadSize),\
        "statsd_port":8125,"max_memory":0,"max_cpu":0,"analyzed_spans_by_service":{},"obfuscation":{}},\
        "peer_tags":null,"trace_compat_sink":true}
        """

    public static func respond(method: String, uri: String) -> LocalResponse {
        let endpoint = Endpoint(method: method, uri: uri)
        switch endpoint.tee {
        case .tracePayload, .notDecoded:
            return LocalResponse(status: 200, json: #"{"rate_by_service":{}}"#)
        case .agentInfo:
            return LocalResponse(status: 200, json: infoDocument)
        case .telemetry, .llmObs, .countOnly:
            return LocalResponse(status: 200, json: "{}")
        }
    }
}
