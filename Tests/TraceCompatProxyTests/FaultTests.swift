import CompatReport
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TraceCompatProxy

extension SocketSuites {
/// What a user sees when something goes wrong, and that it is counted in the report.
@Suite struct FaultTests {
    @Test func upstreamNotListeningAnswers502NamingTheUpstreamWithoutWaitingForTheTimeout() async throws {
        let port = try await closedPort()
        let harness = try await ProxyHarness.start(upstream: nil) {
            $0.upstream = .http(host: "127.0.0.1", port: port)
            $0.upstreamTimeout = 60
        }
        let started = ContinuousClock.now
        let answer = try await TestClient.request(harness.address, .POST, "/v0.4/traces", body: [0x90])
        let elapsed = ContinuousClock.now - started
        #expect(answer.status == 502)
        #expect(answer.header("content-type") == "application/json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any])
        #expect(json["error"] as? String == "upstream_unreachable")
        #expect(json["upstream"] as? String == "http://127.0.0.1:\(port)")
        #expect(answer.text.split(separator: "\n").count == 1)
        #expect(elapsed < .seconds(30), "refused connections are answered at once, not after upstream_timeout (60 s)")
        let report = harness.report()
        #expect(report.traffic.proxyErrors["upstream_unreachable"]?["/v0.4/traces"] == 1)
        // The payload was still analysed (it was read in full).
        #expect(report.traffic.tracePayloadCount == 1)
        await harness.stop()
    }

    @Test func aStaleKeepAliveConnectionIsRetriedOnceOnANewOne() async throws {
        let harness = try await ProxyHarness.start(upstream: .closeOnSecondRequest)
        let client = try await TestClient.connect(harness.address)
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        #expect(try await client.send(.POST, payload.path, headers: payload.headers, body: payload.body).status == 200)
        // The pooled connection is closed by the agent when reused: the proxy sends again.
        let second = try await client.send(.POST, payload.path, headers: payload.headers, body: payload.body)
        #expect(second.status == 200)
        #expect(second.text == RecordingUpstream.answer(for: payload.path))
        let received = harness.upstream!.requests
        #expect(received.count == 3)
        #expect(received.allSatisfy { $0.body == payload.body })
        #expect(Set(received.map(\.connection)).count == 2)
        #expect(harness.report().traffic.proxyErrors.isEmpty)
        await client.close()
        await harness.stop()
    }

    @Test func hangingUpstreamAnswers504AtTheTimeout() async throws {
        let harness = try await ProxyHarness.start(upstream: .hang) { $0.upstreamTimeout = 1 }
        let started = ContinuousClock.now
        let answer = try await TestClient.request(harness.address, .POST, "/v0.4/traces", body: [0x90])
        #expect(ContinuousClock.now - started >= .seconds(1))
        #expect(answer.status == 504)
        #expect(answer.text.contains(#""error":"upstream_timeout""#))
        #expect(harness.report().traffic.proxyErrors["upstream_timeout"]?["/v0.4/traces"] == 1)
        // The client connection is still usable after a 504.
        await harness.stop()
    }

    /// One timer per client connection, re-armed for the current exchange: the second exchange
    /// on a keep-alive connection gets its own full timeout, counted from its own last byte.
    @Test func theSecondExchangeOnAConnectionIsTimedOutFromItsOwnStart() async throws {
        let harness = try await ProxyHarness.start(upstream: .hangAfterFirst) { $0.upstreamTimeout = 1 }
        let client = try await TestClient.connect(harness.address)
        #expect(try await client.send(.GET, "/info").status == 200)
        try await Task.sleep(for: .milliseconds(500))
        let started = ContinuousClock.now
        let second = try await client.send(.POST, "/v0.4/traces", body: [0x90])
        let waited = ContinuousClock.now - started
        #expect(second.status == 504)
        #expect(waited >= .seconds(1), "not cut short by the timer the first exchange armed")
        #expect(waited < .seconds(5))
        #expect(harness.report().traffic.proxyErrors["upstream_timeout"]?["/v0.4/traces"] == 1)
        await client.close()
        await harness.stop()
    }

    @Test func upstreamStallingMidAnswerIsTimedOutAndTheClientConnectionClosed() async throws {
        let harness = try await ProxyHarness.start(upstream: .stallMidAnswer) { $0.upstreamTimeout = 1 }
        let started = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            _ = try await TestClient.request(harness.address, .GET, "/info")
        }
        #expect(ContinuousClock.now - started >= .seconds(1))
        // An upper bound only (the stall is cut, not held for ever): generous, since the whole
        // suite runs in parallel on a shared 2-core machine.
        #expect(ContinuousClock.now - started < .seconds(15))
        #expect(harness.report().traffic.proxyErrors["upstream_timeout"]?["/info"] == 1)
        await harness.stop()
    }

    @Test func aSlowAnswerThatKeepsComingIsNotTimedOut() async throws {
        // 2.4 s in all, never more than 0.4 s without a byte: the timeout (1 s) is for silence.
        let harness = try await ProxyHarness.start(upstream: .slowAnswer) { $0.upstreamTimeout = 1 }
        let answer = try await TestClient.request(harness.address, .GET, "/info")
        #expect(answer.status == 200)
        #expect(answer.body == (1...6).flatMap { Array(repeating: UInt8(ascii: "0") + UInt8($0), count: 10) })
        #expect(harness.report().traffic.proxyErrors.isEmpty)
        await harness.stop()
    }

    @Test func upstreamResettingMidAnswerClosesTheClientConnection() async throws {
        let harness = try await ProxyHarness.start(upstream: .resetMidAnswer)
        await #expect(throws: (any Error).self) {
            _ = try await TestClient.request(harness.address, .GET, "/info")
        }
        #expect(harness.report().traffic.proxyErrors["upstream_reset"]?["/info"] == 1)
        await harness.stop()
    }

    @Test func clientDisconnectingMidBodyIsCountedAndTheProxyKeepsServing() async throws {
        let harness = try await ProxyHarness.start()
        let raw = try await RawConnection.connect(harness.address)
        try await raw.write("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
        try await raw.write(Array(repeating: 0x90, count: 1000))
        await raw.close()
        // Wait (bounded) until the proxy has noticed.
        for _ in 0..<200 where harness.store.snapshot().traffic.proxyErrors["client_aborted"] == nil {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(harness.store.snapshot().traffic.proxyErrors["client_aborted"]?["/v0.4/traces"] == 1)
        // The agent never got a complete request, and the next client is served.
        #expect(harness.upstream!.requests.isEmpty)
        let answer = try await TestClient.request(harness.address, .GET, "/info")
        #expect(answer.status == 200)
        await harness.stop()
    }

    @Test func malformedPayloadIsForwardedAndCountedWithItsOffset() async throws {
        let harness = try await ProxyHarness.start()
        // An array of 1 trace holding an array of 1 span, then a truncated map: fails past offset 0.
        let garbage: [UInt8] = [0x91, 0x91, 0x8f, 0xa7, 0x73, 0x65]
        let answer = try await TestClient.request(harness.address, .POST, "/v0.4/traces", headers: [("Content-Type", "application/msgpack")], body: garbage)
        #expect(answer.status == 200)
        #expect(harness.upstream!.requests.last?.body == garbage)
        let report = harness.report()
        #expect(report.decodeErrorCount == 1)
        let sample = try #require(report.traffic.decodeErrors.samples.first)
        #expect(sample.offset > 0 && sample.offset <= garbage.count)
        #expect(sample.endpoint.contains("/v0.4/traces"))
        await harness.stop()
    }

    @Test func oversizedBodyDeclaredByContentLengthIs413AndNeverForwarded() async throws {
        let harness = try await ProxyHarness.start { $0.maxBodyBytes = 1000 }
        let answer = try await TestClient.request(harness.address, .POST, "/v0.4/traces", body: Array(repeating: 0x90, count: 5000))
        #expect(answer.status == 413)
        #expect(answer.text.contains(#""error":"payload_too_large""#))
        #expect(harness.upstream!.requests.isEmpty)
        #expect(harness.report().traffic.proxyErrors["payload_too_large"]?["/v0.4/traces"] == 1)
        await harness.stop()
    }

    @Test func oversizedChunkedBodyIs413() async throws {
        let harness = try await ProxyHarness.start { $0.maxBodyBytes = 1000 }
        let answer = try await TestClient.request(harness.address, .POST, "/v0.4/traces", body: Array(repeating: 0x90, count: 5000), chunked: true)
        #expect(answer.status == 413)
        #expect(harness.upstream!.requests.isEmpty)
        #expect(harness.report().traffic.proxyErrors["payload_too_large"]?["/v0.4/traces"] == 1)
        await harness.stop()
    }

    @Test func defaultBodyLimitIsTheAgentsMaxPayloadSize() {
        #expect(ProxyConfiguration().maxBodyBytes == 25 * 1024 * 1024)
    }

    @Test func fiveHundredIdleConnectionsDoNotStopAnotherClient() async throws {
        let harness = try await ProxyHarness.start()
        var idle: [RawConnection] = []
        for _ in 0..<500 {
            idle.append(try await RawConnection.connect(harness.address))
        }
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        let answer = try await TestClient.request(harness.address, .POST, "/v0.4/traces", headers: payload.headers, body: payload.body)
        #expect(answer.status == 200)
        #expect(harness.upstream!.requests.last?.body == payload.body)
        #expect(idle.allSatisfy { $0.channel.isActive })
        // An idle connection that finally speaks is served too.
        try await idle[250].write("GET /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for connection in idle { await connection.close() }
        await harness.stop()
    }

    @Test func analysisNeverHoldsUpForwardingWhenTheQueueIsFull() async throws {
        // One slot, one thread: a burst of payloads overflows it; every one is still forwarded.
        let harness = try await ProxyHarness.start { $0.queueCapacity = 1; $0.analysisThreads = 1 }
        let payload = try Fixtures.requests("django-full-v04").first { $0.path == "/v0.4/traces" }!
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<40 {
                group.addTask { try await TestClient.request(harness.address, .POST, "/v0.4/traces", headers: payload.headers, body: payload.body).status }
            }
            for try await status in group { #expect(status == 200) }
        }
        #expect(harness.upstream!.requests.count == 40)
        let report = harness.report()
        #expect(report.traffic.requestsByEndpoint["/v0.4/traces"] == 40)
        #expect(report.traffic.tracePayloadCount + report.notAnalysedCount == 40)
        await harness.stop()
    }
}}

