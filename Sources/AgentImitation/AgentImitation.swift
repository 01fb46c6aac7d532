/// What the Datadog Agent's trace receiver answers, by method and path, without any I/O: the one
/// imitation behind the proxy's sink mode (`--upstream none`) and `trace-replay --serve`'s stub.
///
/// Facts from DataDog/datadog-agent `pkg/trace/api` (read, not copied):
/// - `api.go` `buildMux`/`replyWithVersion`: every endpoint but `/info` answers with
///   `Datadog-Agent-Version: <version>` and `Datadog-Agent-State: <sha256 hex of the /info body>`.
/// - `api.go` `replyOK`: `/v0.1`–`/v0.3/traces` answer `OK\n`; from `/v0.4/traces` on,
///   `responses.go` `httpRateByService` answers `Content-Type: application/json` and
///   `{"rate_by_service":{…}}` written by Go's `json.Encoder` (so with a trailing newline); an
///   agent that has not sampled yet has no rates: `{"rate_by_service":{}}`.
/// - `api.go` `handleStats` (`/v0.6/stats`) writes nothing: 200 with an empty body.
/// - `info.go` `makeInfoHandler`: `/info` is a JSON document (version, endpoints, feature
///   flags, `client_drop_p0s`, `span_meta_structs`, `long_running_spans`, a reduced config), not
///   wrapped by `replyWithVersion`, and with no Content-Type set (Go sniffs `text/plain`).
/// - Proxied endpoints (`/telemetry/proxy/`, `/evp_proxy/`, `/profiling/`, `/debugger/`…) answer
///   what the intake answers; the imitation stands in with `200 {}` (tracers only check 2xx).
/// - Paths the receiver does not serve get Go's `http.ServeMux` 404 `404 page not found\n`.
public struct AgentImitation: Sendable {
    /// One answer: everything but `Content-Length` and `Connection`, which belong to the writer.
    public struct Answer: Sendable, Equatable {
        public var status: Int
        /// In order; `Content-Type` first when there is one.
        public var headers: [Header]
        public var body: [UInt8]

        public var contentType: String? { headers.first { $0.name == "Content-Type" }?.value }

        public init(status: Int, headers: [Header], body: [UInt8]) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The agent version it claims: in `/info` and in `Datadog-Agent-Version`.
    public let version: String
    /// `git_commit` in `/info`: names the imitation, so a report or a log never mistakes it for
    /// a real agent.
    public let gitCommit: String
    /// `config.max_request_bytes` in `/info`: the agent's 25 MiB default.
    public let maxRequestBytes: Int

    /// The `/info` document, built once.
    public let infoDocument: String
    /// `Datadog-Agent-State`: the SHA-256 of `infoDocument` (hex), as the agent hashes its own.
    public let state: String

    /// The endpoints `/info` lists (the receiver's `endpoints` table, the ones a v3/v4 tracer
    /// looks for); each is answered by `answer(method:path:)`, anything else is a 404.
    public static let endpoints = [
        "/v0.3/traces", "/v0.4/traces", "/v0.5/traces", "/v0.7/traces", "/profiling/v1/input",
        "/telemetry/proxy/", "/v0.6/stats", "/v0.1/pipeline_stats", "/evp_proxy/v1/", "/evp_proxy/v2/",
        "/evp_proxy/v3/", "/evp_proxy/v4/", "/debugger/v1/input", "/debugger/v1/diagnostics",
        "/symdb/v1/input", "/dogstatsd/v1/proxy", "/dogstatsd/v2/proxy", "/tracer_flare/v1", "/v0.7/config",
    ]

    /// The one default: the version both sink mode and the stub claim.
    public static let defaultVersion = "7.70.0"
    /// The agent's default `max_request_bytes` (`apm_config.max_payload_size`, 25 MiB).
    public static let defaultMaxRequestBytes = 25 * 1024 * 1024

    public init(version: String = AgentImitation.defaultVersion, gitCommit: String = "trace-compat-imitation",
                maxRequestBytes: Int = AgentImitation.defaultMaxRequestBytes) {
        self.version = version
        self.gitCommit = gitCommit
        self.maxRequestBytes = maxRequestBytes
        let endpoints = Self.endpoints.map { "\"\($0)\"" }.joined(separator: ",")
        infoDocument = """
            {"version":"\(version)","git_commit":"\(gitCommit)","endpoints":[\(endpoints)],"client_drop_p0s":true,\
            "span_meta_structs":true,"long_running_spans":true,"evp_proxy_allowed_headers":["Content-Type","Accept-Encoding",\
            "Content-Encoding","User-Agent","DD-CI-PROVIDER-NAME"],"config":{"default_env":"none","target_tps":10,"max_eps":200,\
            "receiver_port":8126,"receiver_socket":"","connection_limit":0,"receiver_timeout":0,"max_request_bytes":\(maxRequestBytes),\
            "statsd_port":8125,"max_memory":0,"max_cpu":0,"analyzed_spans_by_service":{},"obfuscation":{}},\
            "peer_tags":null,"trace_compat_imitation":true}
            """
        state = SHA256.hex(Array(infoDocument.utf8))
    }

    /// What the agent answers to `method path` (`path` may carry a query; the method does not
    /// matter to the agent's mux, as to Go's `http.ServeMux` without method patterns).
    public func answer(method: String, path uri: String) -> Answer {
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        if path == "/info" {
            return Answer(status: 200, headers: [Header(name: "Content-Type", value: "text/plain; charset=utf-8")],
                          body: Array(infoDocument.utf8))
        }
        guard Self.served(path) else {
            return Answer(status: 404, headers: [Header(name: "Content-Type", value: "text/plain; charset=utf-8")],
                          body: Array("404 page not found\n".utf8))
        }
        let versioned = [Header(name: "Datadog-Agent-Version", value: version), Header(name: "Datadog-Agent-State", value: state)]
        if let traces = Self.traceVersion(path) {
            if traces < 4 {
                return Answer(status: 200, headers: [Header(name: "Content-Type", value: "text/plain; charset=utf-8")] + versioned,
                              body: Array("OK\n".utf8))
            }
            return Answer(status: 200, headers: [Header(name: "Content-Type", value: "application/json")] + versioned,
                          body: Self.rateByServiceBody)
        }
        if path == "/v0.6/stats" {
            return Answer(status: 200, headers: versioned, body: [])
        }
        return Answer(status: 200, headers: [Header(name: "Content-Type", value: "application/json")] + versioned, body: Array("{}".utf8))
    }

    /// `{"rate_by_service":{}}` and the newline Go's `json.Encoder` ends it with.
    public static let rateByServiceBody = Array("{\"rate_by_service\":{}}\n".utf8)

    /// `/v0.N/traces` → N (any minor version the receiver might add answers like v0.4+).
    static func traceVersion(_ path: String) -> Int? {
        guard path.hasPrefix("/v0."), path.hasSuffix("/traces") else { return nil }
        return Int(path.dropFirst(4).dropLast(7))
    }

    /// An endpoint of the list, exactly or (for patterns ending in `/`) as a prefix, like Go's
    /// mux; any `/v0.N/traces` too.
    static func served(_ path: String) -> Bool {
        if traceVersion(path) != nil { return true }
        return endpoints.contains { $0.hasSuffix("/") ? path.hasPrefix($0) : path == $0 }
    }
}
