import NIOHTTP1
import Testing
@testable import TraceCompatProxy

@Suite struct ConfigurationTests {
    @Test func listenAddresses() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:8136") == .tcp(host: "127.0.0.1", port: 8136))
        #expect(try ListenAddress(parsing: "[::1]:0") == .tcp(host: "::1", port: 0))
        #expect(try ListenAddress(parsing: "unix:///var/run/tc.sock") == .unix(path: "/var/run/tc.sock"))
        #expect(throws: ProxyConfigurationError.self) { try ListenAddress(parsing: "8136") }
        #expect(throws: ProxyConfigurationError.self) { try ListenAddress(parsing: "host:99999") }
        #expect(throws: ProxyConfigurationError.self) { try ListenAddress(parsing: "unix://relative.sock") }
    }

    @Test func loopbackIsTheSafeDefault() throws {
        #expect(ProxyConfiguration().listen.isLoopback)
        #expect(try ListenAddress(parsing: "localhost:1").isLoopback)
        #expect(try !ListenAddress(parsing: "0.0.0.0:8136").isLoopback)
        #expect(try !ListenAddress(parsing: "10.1.2.3:8136").isLoopback)
    }

    @Test func upstreamTargets() throws {
        #expect(try UpstreamTarget(parsing: "http://127.0.0.1:8126") == .http(host: "127.0.0.1", port: 8126))
        #expect(try UpstreamTarget(parsing: "http://agent/") == .http(host: "agent", port: 80))
        #expect(try UpstreamTarget(parsing: "unix:///var/run/datadog/apm.socket") == .unix(path: "/var/run/datadog/apm.socket"))
        #expect(try UpstreamTarget(parsing: "none") == UpstreamTarget.none)
        #expect(throws: ProxyConfigurationError.self) { try UpstreamTarget(parsing: "https://agent:8126") }
        #expect(ProxyConfiguration().upstream.description == "http://127.0.0.1:8126")
    }

    @Test func invalidValuesAreNamed() {
        var configuration = ProxyConfiguration()
        configuration.flushInterval = 0
        configuration.queueCapacity = -1
        let errors = configuration.validationErrors()
        #expect(errors.contains { $0.contains("flush_interval") })
        #expect(errors.contains { $0.contains("queue_capacity") })
        #expect(ProxyConfiguration().validationErrors().isEmpty)
    }
}

@Suite struct HeaderAndEndpointTests {
    @Test func hopByHopHeadersAndTheOnesConnectionNamesAreRemoved() {
        let headers = HTTPHeaders([("Host", "a"), ("Connection", "close, X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "5"),
                                   ("TE", "trailers"), ("Transfer-Encoding", "chunked"), ("Upgrade", "h2c"),
                                   ("Proxy-Connection", "x"), ("Content-Type", "application/msgpack"), ("X-Datadog-Trace-Count", "2")])
        let kept = HopByHopHeaders.removing(from: headers)
        #expect(kept.map(\.name) == ["Host", "Content-Type", "X-Datadog-Trace-Count"])
        let next = HopByHopHeaders.forwarded(headers, framing: .chunked)
        #expect(next["transfer-encoding"] == ["chunked"])
        #expect(HopByHopHeaders.forwarded(HTTPHeaders([("Content-Length", "3")]), framing: .contentLength(3))["transfer-encoding"].isEmpty)
    }

    /// Without any hop-by-hop header (a tracer's request, the agent's answer) the headers pass as
    /// they are; any case of any hop-by-hop name still takes the removing path.
    @Test func headersWithoutHopByHopOnesPassUnchanged() {
        let tracer = HTTPHeaders([("Host", "x"), ("Content-Type", "application/msgpack"), ("Datadog-Meta-Lang", "python"),
                                  ("X-Datadog-Trace-Count", "1"), ("Content-Length", "3"), ("tE-x", "1"), ("Upgrades", "1")])
        #expect(HopByHopHeaders.removing(from: tracer) == tracer)
        for name in ["CONNECTION", "keep-ALIVE", "Proxy-Connection", "te", "Transfer-encoding", "UpGrade"] {
            let kept = HopByHopHeaders.removing(from: HTTPHeaders([("Host", "x"), (name, "close")]))
            #expect(kept.map(\.name) == ["Host"], "\(name)")
        }
        #expect(!HopByHopHeaders.isAlwaysHopByHop("Connectio\u{00E9}") && !HopByHopHeaders.isAlwaysHopByHop("t\u{00C9}"))
    }

    @Test func endpointsAreBoundedLabelsWithTheirTee() {
        #expect(Endpoint(method: "PUT", uri: "/v0.4/traces") == Endpoint(method: "POST", uri: "/v0.4/traces"))
        #expect(Endpoint(method: "POST", uri: "/v0.5/traces").tee == .tracePayload)
        #expect(Endpoint(method: "GET", uri: "/info").tee == .agentInfo)
        #expect(Endpoint(method: "POST", uri: "/telemetry/proxy/api/v2/apmtelemetry").tee == .telemetry)
        #expect(Endpoint(method: "POST", uri: "/evp_proxy/v2/api/v2/llmobs").tee == .llmObs)
        // Formats we do not decode: labelled, answered like traces by the sink, body not kept for analysis.
        #expect(Endpoint(method: "POST", uri: "/v0.7/traces").tee == .notDecoded)
        #expect(Endpoint(method: "POST", uri: "/v1.0/traces").label == "/v1.0/traces")
        #expect(!Endpoint(method: "POST", uri: "/v0.7/traces").tee.keepsRequestBody)
        #expect(Endpoint(method: "POST", uri: "/v0.3/traces").tee == .tracePayload)
        #expect(Endpoint(method: "POST", uri: "/profiling/v1/input?x=1").label == "/profiling")
        #expect(Endpoint(method: "GET", uri: "/a/b/c/\(Int.random(in: 0...1000))").label == "other")
    }

    @Test func sinkAnswersAsTheAgentDoes() throws {
        // AgentImitation's answers (the replay stub's too): Go's json.Encoder ends with a newline,
        // the agent's stats handler writes nothing, a path it does not serve is a 404.
        #expect(SinkResponder.respond(method: "PUT", uri: "/v0.4/traces").body == Array(#"{"rate_by_service":{}}"#.utf8 + [0x0A]))
        #expect(SinkResponder.respond(method: "POST", uri: "/v0.6/stats").body == [])
        #expect(SinkResponder.respond(method: "POST", uri: "/telemetry/proxy/api/v2/apmtelemetry").body == Array("{}".utf8))
        #expect(SinkResponder.respond(method: "GET", uri: "/not/an/agent/path").status == 404)
        let info = SinkResponder.respond(method: "GET", uri: "/info")
        #expect(info.status == 200)
        #expect(String(decoding: info.body, as: UTF8.self).contains(#""/v0.5/traces""#))
    }
}
