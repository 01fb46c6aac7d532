import CompatReport
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TraceCompatProxy

extension SocketSuites {
/// Every fixture request reaches a real recording agent unchanged, its answer comes back
/// unchanged, and the report has what the analyzer found.
@Suite struct ForwardingTests {
    @Test(arguments: Fixtures.scenarios)
    func fixtureTrafficReachesTheAgentByteForByte(scenario: String) async throws {
        let harness = try await ProxyHarness.start()
        let requests = try Fixtures.requests(scenario)
        #expect(!requests.isEmpty)
        let client = try await TestClient.connect(harness.address)
        for request in requests {
            let answer = try await client.send(HTTPMethod(rawValue: request.method), request.path, headers: request.headers, body: request.body)
            let received = try #require(harness.upstream!.requests.last)
            #expect(received.uri == request.path, "\(request.name)")
            #expect(received.method == request.method, "\(request.name)")
            #expect(received.body == request.body, "\(request.name): \(received.body.count) bytes received, \(request.body.count) sent")
            for (name, value) in request.headers {
                #expect(received.headers.contains { $0.0.lowercased() == name.lowercased() && $0.1 == value }, "\(request.name): header \(name) lost")
            }
            #expect(answer.status == 200)
            #expect(answer.text == RecordingUpstream.answer(for: request.path), "\(request.name)")
            #expect(answer.header("x-upstream") == "recording")
        }
        await client.close()
        #expect(harness.upstream!.requests.count == requests.count)
        // One client connection kept alive: the upstream pool reused one agent connection.
        #expect(Set(harness.upstream!.requests.map(\.connection)).count == 1)

        let report = harness.report()
        #expect(report.traffic.requestCount == requests.count)
        let traces = requests.filter { $0.path.hasSuffix("/traces") }.count
        #expect(report.traffic.tracePayloadCount == traces)
        #expect(report.traffic.agentVersions["7.60.0"] != nil, "the agent's /info answer reached the analyzer")
        await harness.stop()
    }

    @Test func manualV04ReportHasTheFixtureFindings() async throws {
        let harness = try await ProxyHarness.start()
        for request in try Fixtures.requests("manual-v04") {
            _ = try await TestClient.request(harness.address, HTTPMethod(rawValue: request.method), request.path, headers: request.headers, body: request.body)
        }
        let counts = harness.report().findingCountsByRule
        // expected.json: 7 non-string reprs, 4 numeric tags, 1 struct tag.
        #expect((counts["V4-TAG-REPR"] ?? 0) >= 7)
        #expect((counts["V4-TAG-NUMERIC"] ?? 0) >= 4)
        #expect((counts["V4-STRUCT-TAG"] ?? 0) >= 1)
        await harness.stop()
    }

    @Test func chunkedRequestBodyArrivesUnchangedAndFramed() async throws {
        let harness = try await ProxyHarness.start()
        let payload = try Fixtures.requests("manual-v05").first { $0.path == "/v0.5/traces" }!
        let answer = try await TestClient.request(harness.address, .POST, "/v0.5/traces",
                                                  headers: payload.headers.filter { $0.0 != "content-length" }, body: payload.body, chunked: true)
        #expect(answer.status == 200)
        let received = try #require(harness.upstream!.requests.last)
        #expect(received.body == payload.body)
        #expect(received.headers.contains { $0.0.lowercased() == "transfer-encoding" && $0.1 == "chunked" })
        #expect(harness.report().traffic.tracePayloadCount == 1)
        await harness.stop()
    }

    @Test func theAgentVersionIsReadFromTheAnswerHeaderWithoutInfo() async throws {
        let harness = try await ProxyHarness.start()
        let payload = try Fixtures.requests("manual-v05").first { $0.path == "/v0.5/traces" }!
        _ = try await TestClient.request(harness.address, .POST, "/v0.5/traces", headers: payload.headers, body: payload.body)
        let report = harness.report()
        #expect(report.traffic.requestsByEndpoint["/info"] == nil)
        #expect(report.traffic.agentVersions == ["7.60.0": 1])
        let agent = report.findings.filter { $0.rule == .agent }
        #expect(agent.count == 1 && agent.first?.evidence?.contains("Datadog-Agent-Version") == true)
        await harness.stop()
    }

    @Test func chunkedAnswerIsRelayedWhole() async throws {
        let harness = try await ProxyHarness.start(upstream: .chunkedAnswer)
        let answer = try await TestClient.request(harness.address, .GET, "/v0.7/config")
        #expect(answer.status == 200)
        #expect(answer.text == "one,two,three")
        await harness.stop()
    }

    /// The agent's answer to HEAD is relayed as bytes (no body follows its head), and the proxy's
    /// own answers on the same connection afterwards keep their bodies: nothing pairs requests
    /// with answers through NIO's encoder, which the relayed answers do not pass.
    @Test func afterRelayedHEADAnswersALocalAnswerKeepsItsBody() async throws {
        let harness = try await ProxyHarness.start()
        let raw = try await RawConnection.connect(harness.address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        let heads = String(repeating: "HEAD /info HTTP/1.1\r\nHost: x\r\n\r\n", count: 3)
        try await raw.write(heads + "GET /compat/health HTTP/1.1\r\nHost: x\r\n\r\n")
        for _ in 0..<300 where !received.text.contains("\"uptime_seconds\"") { try await Task.sleep(for: .milliseconds(10)) }
        let text = received.text
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count - 1 == 4)
        #expect(!text.contains("\"version\""), "no /info body after a HEAD answer")
        #expect(text.contains("\"status\":\"ok\""), "the local answer after them has its body: \(text.suffix(200))")
        await raw.close()
        await harness.stop()
    }

    @Test func hopByHopHeadersStopAtTheProxy() async throws {
        let harness = try await ProxyHarness.start()
        _ = try await TestClient.request(harness.address, .POST, "/v0.6/stats",
                                         headers: [("Connection", "keep-alive, X-Private"), ("X-Private", "secret"), ("Keep-Alive", "timeout=5"),
                                                   ("TE", "trailers"), ("Proxy-Connection", "keep-alive"), ("X-Datadog-Trace-Count", "3")],
                                         body: Array("stats".utf8))
        let names = Set(harness.upstream!.requests.last!.headers.map { $0.0.lowercased() })
        #expect(!names.contains("x-private"))
        #expect(!names.contains("keep-alive"))
        #expect(!names.contains("te"))
        #expect(!names.contains("proxy-connection"))
        #expect(names.contains("x-datadog-trace-count"))
        await harness.stop()
    }

    @Test func unknownPathsAndMethodsAreForwarded() async throws {
        let harness = try await ProxyHarness.start()
        for (method, path) in [(HTTPMethod.DELETE, "/some/future/endpoint?x=1"), (.PUT, "/v0.4/traces"), (.GET, "/debugger/v1/input"), (.HEAD, "/info")] {
            let answer = try await TestClient.request(harness.address, method, path, body: method == .PUT ? [0x90] : [])
            #expect(answer.status == 200)
            #expect(harness.upstream!.requests.last?.uri == path)
            #expect(harness.upstream!.requests.last?.method == method.rawValue)
        }
        await harness.stop()
    }

    @Test func unixSocketsOnBothSides() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tc-proxy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let upstream = RecordingUpstream()
        try await upstream.start(unixPath: directory.appendingPathComponent("agent.sock").path)
        let harness = try await ProxyHarness.start(upstream: nil) {
            $0.listen = .unix(path: directory.appendingPathComponent("proxy.sock").path)
            $0.upstream = .unix(path: directory.appendingPathComponent("agent.sock").path)
        }
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        let answer = try await TestClient.request(try SocketAddress(unixDomainSocketPath: directory.appendingPathComponent("proxy.sock").path),
                                                  .POST, "/v0.4/traces", headers: payload.headers, body: payload.body)
        #expect(answer.status == 200)
        #expect(upstream.requests.last?.body == payload.body)
        await harness.stop()
        await upstream.stop()
    }
}}


@Suite struct ExpectContinueTests {
    @Test func expectContinueIsInvitedByTheProxy() async throws {
        let harness = try await ProxyHarness.start()
        let raw = try await RawConnection.connect(harness.address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        try await raw.write("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n")
        for _ in 0..<200 where !received.text.contains("100 Continue") { try await Task.sleep(for: .milliseconds(10)) }
        #expect(received.text.hasPrefix("HTTP/1.1 100 Continue\r\n"))
        try await raw.write([0x90])
        for _ in 0..<200 where !received.text.contains("rate_by_service") { try await Task.sleep(for: .milliseconds(10)) }
        #expect(received.text.contains("HTTP/1.1 200 OK"))
        #expect(harness.upstream!.requests.last?.body == [0x90])
        await raw.close()
        await harness.stop()
    }
}

@Suite struct PipeliningTests {
    /// HTTP/1.1 pipelining: three requests in one write are forwarded one after the other and
    /// answered in order on the same connection.
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        let harness = try await ProxyHarness.start()
        let raw = try await RawConnection.connect(harness.address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        let requests: [UInt8] = Array("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n".utf8) + [0x90]
            + Array("GET /info HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            + Array("PUT /v0.5/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n".utf8) + [0x92, 0x90]
            + Array("\r\n0\r\n\r\n".utf8)
        try await raw.write(requests)
        func answers() -> Int { received.text.components(separatedBy: "HTTP/1.1 200 OK").count - 1 }
        for _ in 0..<300 where answers() < 3 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(answers() == 3)
        let text = received.text
        let traces = text.range(of: "rate_by_service"), info = text.range(of: "\"version\"")
        #expect(traces != nil && info != nil && traces!.lowerBound < info!.lowerBound, "the answers come in request order")
        #expect(text.components(separatedBy: "rate_by_service").count - 1 == 2)
        let upstream = harness.upstream!.requests
        #expect(upstream.map(\.uri) == ["/v0.4/traces", "/info", "/v0.5/traces"])
        #expect(upstream.map(\.body) == [[0x90], [], [0x92, 0x90]])
        await raw.close()
        await harness.stop()
    }
}

@Suite struct ConnectionLifecycleTests {
    /// A request NIO cannot parse gets 400 and its connection closed; others are served.
    @Test(.timeLimit(.minutes(1))) func malformedRequestGets400AndTheProxyKeepsServing() async throws {
        let harness = try await ProxyHarness.start()
        let raw = try await RawConnection.connect(harness.address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        try await raw.write("NOT HTTP AT ALL\r\n\r\n")
        try await raw.channel.closeFuture.get()
        #expect(received.text.hasPrefix("HTTP/1.1 400"))
        #expect(try await TestClient.request(harness.address, .GET, "/info").status == 200)
        await harness.stop()
    }

    /// Shutdown lets the exchange in flight finish (a 2.4 s answer), then closes its connection.
    @Test func shutdownFinishesTheExchangeInFlightThenCloses() async throws {
        let harness = try await ProxyHarness.start(upstream: .slowAnswer)
        let client = try await TestClient.connect(harness.address)
        async let answer = client.send(.GET, "/info")
        try await Task.sleep(for: .milliseconds(150))
        await harness.proxy.shutdown(grace: .seconds(5))
        let finished = try await answer
        #expect(finished.status == 200)
        #expect(finished.body.count == 60)
        await #expect(throws: (any Error).self) { _ = try await client.send(.GET, "/info") }
        await harness.upstream?.stop()
    }
}

/// Collects what a raw connection receives.
final class ReceivedBytes: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private let lock = NSLock()
    private var bytes: [UInt8] = []

    var text: String {
        lock.lock(); defer { lock.unlock() }
        return String(decoding: bytes, as: UTF8.self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        lock.lock()
        bytes.append(contentsOf: buffer.readableBytesView)
        lock.unlock()
    }
}
