import CompatReport
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import TraceCompatProxy

extension SocketSuites {
/// Hostile and faulty clients on real sockets, in front of a `RecordingUpstream`: whatever one
/// client sends, the agent receives exactly the requests it meant (or none), and every other
/// client gets its own answer.
@Suite(.serialized) struct HostileClientTests {
    /// One hostile request shape and what must come of it.
    struct Shape: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: String
        /// The status line's code the hostile client gets.
        var status: Int
        /// What the agent must receive from the hostile client: (method, uri, body).
        var upstream: [String] = []
        /// The report's proxy error kind counted for it, when the proxy decides (nil: NIO's
        /// parser refused the head before the proxy saw it; counted at "-").
        var kind: String?
        var testDescription: String { name }
    }

    static let smuggled = "GET /slow-smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

    static let shapes: [Shape] = [
        // The issue's repro: NIO's encoder strips TRACE's framing, the body went out raw.
        Shape(name: "TRACE with a body (the repro)", bytes: "TRACE /info HTTP/1.1\r\nHost: x\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)",
              status: 405, kind: "method_not_allowed"),
        Shape(name: "TRACE with a chunked body", bytes: "TRACE /info HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\(String(smuggled.utf8.count, radix: 16))\r\n\(smuggled)\r\n0\r\n\r\n",
              status: 405, kind: "method_not_allowed"),
        // Connection naming Content-Length used to drop it; now the body goes with its length.
        Shape(name: "GET with Connection: content-length and a body",
              bytes: "GET /info HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)",
              status: 200, upstream: ["GET /info \(smuggled)"]),
        Shape(name: "DELETE with a chunked body", bytes: "DELETE /v0.7/config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\(String(smuggled.utf8.count, radix: 16))\r\n\(smuggled)\r\n0\r\n\r\n",
              status: 200, upstream: ["DELETE /v0.7/config \(smuggled)"]),
        Shape(name: "CL.TE", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\(smuggled)", status: 400),
        Shape(name: "TE.CL", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n\(smuggled)", status: 400),
        Shape(name: "duplicate Content-Length", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n\u{90}\(smuggled)", status: 400),
        Shape(name: "differing Content-Length", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 41\r\n\r\n\u{90}\(smuggled)", status: 400),
        Shape(name: "Content-Length list", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 41\r\n\r\n\u{90}\(smuggled)", status: 400),
        Shape(name: "signed Content-Length +", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n\u{90}\(smuggled)", status: 400),
        Shape(name: "signed Content-Length -", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n\(smuggled)", status: 400),
        Shape(name: "bad chunk size", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\(smuggled)\r\n0\r\n\r\n", status: 400, kind: "bad_request"),
        Shape(name: "chunk size overflow", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\n\(smuggled)\r\n0\r\n\r\n", status: 400, kind: "bad_request"),
        Shape(name: "obs-fold", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n Content-Length: 41\r\nContent-Length: 1\r\n\r\n\u{90}\(smuggled)", status: 400),
        Shape(name: "gzip, chunked", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\n\u{90}\r\n0\r\n\r\n\(smuggled)",
              status: 501, kind: "unsupported_transfer_coding"),
        Shape(name: "chunked, gzip", bytes: "POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n1\r\n\u{90}\r\n0\r\n\r\n\(smuggled)", status: 400),
        Shape(name: "Transfer-Encoding on HTTP/1.0", bytes: "POST /v0.4/traces HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n\u{90}\r\n0\r\n\r\n\(smuggled)", status: 400),
        Shape(name: "no Host", bytes: "GET /info HTTP/1.1\r\n\r\n\(smuggled)", status: 400, kind: "bad_request"),
        Shape(name: "two Host", bytes: "GET /info HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n\(smuggled)", status: 400, kind: "bad_request"),
        Shape(name: "CONNECT", bytes: "CONNECT 127.0.0.1:8126 HTTP/1.1\r\nHost: 127.0.0.1:8126\r\n\r\n\(smuggled)", status: 405, kind: "method_not_allowed"),
    ]

    @Test(arguments: shapes)
    func aHostileShapeReachesTheAgentOnlyAsMeantAndNoAnswerGoesAstray(_ shape: Shape) async throws {
        let harness = try await ProxyHarness.start()
        // Warm the pool: the hostile request then shares pooled agent connections with others.
        try await Self.concurrentClients(harness, clients: 4, rounds: 1)
        let before = harness.upstream!.requests.count

        let (text, closed) = try await Self.rawExchange(harness.address, shape.bytes, closes: shape.status != 200)
        #expect(text.hasPrefix("HTTP/1.1 \(shape.status) ") || text.hasPrefix("HTTP/1.0 \(shape.status) "), "\(shape.name): \(text.prefix(120))")
        if shape.status != 200 {
            #expect(closed, "\(shape.name): the connection is closed after a refusal")
            #expect(text.split(separator: "\n").filter { $0.hasPrefix("HTTP/1.") }.count == 1, "\(shape.name): one answer only")
        }
        // Other clients, on the same pooled agent connections, each get their own answer.
        try await Self.concurrentClients(harness, clients: 4, rounds: 2)

        let received = harness.upstream!.requests
        let fromHostile = received[before...].filter { !Self.isLegit($0) }
        #expect(fromHostile.map { "\($0.method) \($0.uri) \(String(decoding: $0.body, as: UTF8.self))" } == shape.upstream, "\(shape.name)")
        #expect(received.count - before - fromHostile.count == 16, "\(shape.name): every legitimate request reached the agent once")
        #expect(!received.contains { $0.uri.contains("smuggled") }, "\(shape.name)")
        let errors = harness.report().traffic.proxyErrors
        if let kind = shape.kind {
            #expect(errors.values.map { $0.values.reduce(0, +) }.reduce(0, +) == 1, "\(shape.name): \(errors)")
            #expect(errors[kind]?.values.reduce(0, +) == 1, "\(shape.name): \(errors)")
        } else if shape.status == 200 {
            #expect(errors.isEmpty, "\(shape.name): \(errors)")
        } else {
            #expect(errors.values.map { $0.values.reduce(0, +) }.reduce(0, +) == 1, "\(shape.name): \(errors)")
            #expect(errors["bad_request"]?.values.reduce(0, +) == 1, "\(shape.name): counted as a bad request")
        }
        await harness.stop()
    }

    /// `POST http://other/v0.4/traces` goes to the configured agent only, as origin-form, and
    /// is analysed like `POST /v0.4/traces`.
    @Test func anAbsoluteFormTargetIsForwardedAsOriginFormAndAnalysed() async throws {
        let harness = try await ProxyHarness.start()
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        let answer = try await TestClient.request(harness.address, .POST, "http://other.example:8126/v0.4/traces?x=1", headers: payload.headers, body: payload.body)
        #expect(answer.status == 200)
        #expect(harness.upstream!.requests.map(\.uri) == ["/v0.4/traces?x=1"])
        #expect(harness.upstream!.requests.first?.body == payload.body)
        let report = harness.report()
        #expect(report.traffic.tracePayloadCount == 1)
        #expect(report.traffic.requestsByEndpoint["/v0.4/traces"] == 1)
        #expect(ProxyServerHandler.originForm(of: "http://h") == "/")
        #expect(ProxyServerHandler.originForm(of: "http://h?q") == "/?q")
        #expect(ProxyServerHandler.originForm(of: "/info") == nil)
        #expect(ProxyServerHandler.originForm(of: "*") == nil)
        await harness.stop()
    }

    // MARK: timeouts

    /// One header byte every 25 ms, for ever: the head is never complete, the clock runs from
    /// its first byte (a byte now and then does not keep the connection).
    @Test(.timeLimit(.minutes(1))) func aTrickledHeadGets408AtTheHeaderTimeout() async throws {
        let harness = try await ProxyHarness.start { $0.headerTimeout = 1 }
        let (channel, received) = try await Self.connect(harness.address)
        let started = ContinuousClock.now
        let head = Array("POST /v0.4/traces HTTP/1.1\r\nX-Slow: ".utf8) + Array(repeating: UInt8(ascii: "a"), count: 2000)
        for byte in head {
            guard channel.isActive else { break }
            try? await channel.writeAndFlush(ByteBuffer(bytes: [byte])).get()
            try await Task.sleep(for: .milliseconds(25))
        }
        try await channel.closeFuture.get()
        let waited = ContinuousClock.now - started
        #expect(received.text.hasPrefix("HTTP/1.1 408 "))
        #expect(received.text.contains(#""error":"header_timeout""#))
        #expect(waited >= .seconds(1) && waited < .seconds(10), "\(waited)")
        #expect(harness.report().traffic.proxyErrors["header_timeout"]?["-"] == 1)
        #expect(harness.upstream!.requests.isEmpty)
        await harness.stop()
    }

    @Test(.timeLimit(.minutes(1))) func aConnectionThatSendsNothingIsClosedAtTheHeaderTimeout() async throws {
        let harness = try await ProxyHarness.start { $0.headerTimeout = 0.3 }
        let (channel, received) = try await Self.connect(harness.address)
        try await channel.closeFuture.get()
        #expect(received.text.hasPrefix("HTTP/1.1 408 "))
        #expect(harness.report().traffic.proxyErrors["header_timeout"]?["-"] == 1)
        await harness.stop()
    }

    @Test(.timeLimit(.minutes(1))) func aSilentBodyIsClosedAtTheBodyTimeoutAndCounted() async throws {
        let harness = try await ProxyHarness.start { $0.bodyTimeout = 0.4 }
        let (channel, received) = try await Self.connect(harness.address)
        let started = ContinuousClock.now
        try await channel.writeAndFlush(ByteBuffer(bytes: Array("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n".utf8) + [0x90])).get()
        try await channel.closeFuture.get()
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(400) && waited < .seconds(5), "\(waited)")
        #expect(received.text.isEmpty, "no answer can be given to half a request")
        #expect(harness.report().traffic.proxyErrors["body_timeout"]?["/v0.4/traces"] == 1)
        #expect(harness.upstream!.requests.isEmpty, "the half-sent request never completes upstream")
        // The agent connection that carried half a request is not reused for others.
        try await Self.concurrentClients(harness, clients: 3, rounds: 2)
        await harness.stop()
    }

    /// A body that keeps coming, more slowly than body_timeout in total, is never cut.
    @Test(.timeLimit(.minutes(1))) func aSlowButLiveBodyIsNotCut() async throws {
        let harness = try await ProxyHarness.start { $0.bodyTimeout = 1; $0.headerTimeout = 1 }
        let raw = try await RawConnection.connect(harness.address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        try await raw.write("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n")
        for _ in 0..<8 {
            try await Task.sleep(for: .milliseconds(150))
            try await raw.write("x")
        }
        for _ in 0..<200 where !received.text.contains("rate_by_service") { try await Task.sleep(for: .milliseconds(10)) }
        #expect(received.text.hasPrefix("HTTP/1.1 200 OK"))
        #expect(harness.upstream!.requests.map(\.body) == [Array("xxxxxxxx".utf8)])
        await raw.close()
        await harness.stop()
    }

    @Test(.timeLimit(.minutes(1))) func anIdleKeepAliveConnectionIsClosedAtTheIdleTimeout() async throws {
        let harness = try await ProxyHarness.start { $0.idleTimeout = 0.4 }
        let client = try await TestClient.connect(harness.address)
        #expect(try await client.send(.GET, "/info").status == 200)
        let answered = ContinuousClock.now
        try await client.channel.closeFuture.get()
        let idled = ContinuousClock.now - answered
        // Timed from the proxy's end of the answer, a little before the client has read it.
        #expect(idled >= .milliseconds(250) && idled < .seconds(5), "\(idled)")
        #expect(harness.report().traffic.proxyErrors.isEmpty, "an idle close is not an error")
        await harness.stop()
    }

    // MARK: helpers

    /// A raw connection that records what it receives from its first byte on.
    static func connect(_ address: SocketAddress) async throws -> (any Channel, ReceivedBytes) {
        let received = ReceivedBytes()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(received) }
            }
            .connect(to: address).get()
        return (channel, received)
    }

    static func isLegit(_ request: RecordingUpstream.Recorded) -> Bool {
        (request.method == "GET" && request.uri == "/info" && request.body.isEmpty)
            || (request.method == "POST" && request.uri == "/v0.4/traces" && request.body == [0x90])
    }

    /// `clients` keep-alive clients at once, each sending `rounds` × (`GET /info`, `POST
    /// /v0.4/traces`); every answer must be the agent's answer to that very request.
    static func concurrentClients(_ harness: ProxyHarness, clients: Int, rounds: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<clients {
                group.addTask {
                    let client = try await TestClient.connect(harness.address)
                    for _ in 0..<rounds {
                        let info = try await client.send(.GET, "/info")
                        #expect(info.text == RecordingUpstream.answer(for: "/info"))
                        let traces = try await client.send(.POST, "/v0.4/traces", body: [0x90])
                        #expect(traces.text == RecordingUpstream.answer(for: "/v0.4/traces"))
                    }
                    await client.close()
                }
            }
            try await group.waitForAll()
        }
    }

    /// Writes `text` (Latin-1 bytes, so "\u{90}" is the byte 0x90) on a new connection and
    /// collects what comes back until the proxy closes it (`closes`) or an answer is complete.
    static func rawExchange(_ address: SocketAddress, _ text: String, closes: Bool) async throws -> (String, Bool) {
        let raw = try await RawConnection.connect(address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        try? await raw.write(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        for _ in 0..<300 {
            if !raw.channel.isActive { break }
            if !closes, received.text.contains("\r\n\r\n{") { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(50))
        let closed = !raw.channel.isActive
        await raw.close()
        return (received.text, closed)
    }
}}

