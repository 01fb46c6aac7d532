import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import TraceCompatProxy

extension SocketSuites {
/// The request side of the byte relay on real sockets, in front of an agent that records the
/// bytes it receives (no HTTP parser between them and the assertion).
@Suite(.serialized) struct RequestRelayTests {
    /// An agent that keeps every byte it reads and answers `200 {}` once `expected` bytes came.
    final class ByteAgent: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let lock = NSLock()
        private var received: [UInt8] = []
        private let expected: Int
        private var answered = false

        init(expected: Int) { self.expected = expected }

        var bytes: [UInt8] {
            lock.lock(); defer { lock.unlock() }
            return received
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            lock.lock()
            received += unwrapInboundIn(data).readableBytesView
            let answer = !answered && received.count >= expected
            if answer { answered = true }
            lock.unlock()
            if answer {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")), promise: nil)
            }
        }
    }

    static func exchange(_ request: [UInt8], expected: Int) async throws -> (agent: [UInt8], answer: String) {
        let agent = ByteAgent(expected: expected)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(agent) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let harness = try await ProxyHarness.start(upstream: nil) {
            $0.upstream = .http(host: "127.0.0.1", port: server.localAddress!.port!)
        }
        let raw = try await RawConnection.connect(harness.address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        try await raw.write(request)
        for _ in 0..<500 where !received.text.contains("{}") { try await Task.sleep(for: .milliseconds(10)) }
        let answer = received.text
        await raw.close()
        await harness.stop()
        try await server.close()
        return (agent.bytes, answer)
    }

    /// A tracer's request (a real fixture's head and body) reaches the agent as the very bytes
    /// the tracer sent: the head is not decoded and encoded again.
    @Test func aTracersRequestReachesTheAgentByteForByte() async throws {
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        var head = "POST /v0.4/traces HTTP/1.1\r\n"
        // Header names as a tracer writes them (mixed case), and one with OWS NIO's encoder dropped.
        for (name, value) in payload.headers { head += "\(name.capitalized): \(value)\r\n" }
        head += "X-Spaced:   a  b\r\n\r\n"
        let request = Array(head.utf8) + payload.body
        let (agent, answer) = try await Self.exchange(request, expected: request.count)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
        #expect(agent == request, "\(agent.count) bytes received for \(request.count) sent")
    }

    /// A chunked body goes with its chunk framing (extensions and trailer included) as sent;
    /// only the head is written again (`Transfer-Encoding` is hop-by-hop, declared anew).
    @Test func aChunkedBodyKeepsItsFramingAndOnlyTheHeadIsWrittenAgain() async throws {
        let head = "PUT /v0.5/traces HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Kept: 2\r\n\r\n"
        let body = "2;ext=\"v\"\r\n\u{12}\u{34}\r\n1\r\n\u{56}\r\n0\r\nX-Trailer: t\r\n\r\n"
        let forwardedHead = "PUT /v0.5/traces HTTP/1.1\r\nHost: x\r\nX-Kept: 2\r\ntransfer-encoding: chunked\r\n\r\n"
        let expected = Array((forwardedHead + body).utf8)
        let (agent, answer) = try await Self.exchange(Array((head + body).utf8), expected: expected.count)
        #expect(answer.hasPrefix("HTTP/1.1 200 OK"))
        #expect(String(decoding: agent, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
    }

    /// A malformed request pipelined behind a good one waits, as bytes, for the good one's
    /// answer; then it gets its 400 and the connection closes (no answer is cut).
    @Test(.timeLimit(.minutes(1))) func aMalformedPipelinedRequestIsRefusedAfterTheAnswerBeforeIt() async throws {
        let harness = try await ProxyHarness.start(upstream: .slowAnswer)
        let raw = try await RawConnection.connect(harness.address)
        let received = ReceivedBytes()
        try await raw.channel.pipeline.addHandler(received).get()
        try await raw.write("GET /info HTTP/1.1\r\nHost: x\r\n\r\nGET /info HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n")
        try await raw.channel.closeFuture.get()
        let text = received.text
        // The first answer's body ends without a line break: the statuses are found by text.
        let ok = text.range(of: "HTTP/1.1 200 "), refused = text.range(of: "HTTP/1.1 400 ")
        #expect(text.components(separatedBy: "HTTP/1.1 ").count == 3, "two answers: \(text)")
        #expect(ok != nil && refused != nil && ok!.lowerBound < refused!.lowerBound, "\(text)")
        #expect(text.contains("obs-fold"))
        #expect(harness.upstream!.requests.count == 1)
        #expect(harness.report().traffic.proxyErrors["bad_request"]?["-"] == 1)
        await harness.stop()
    }
}
}
