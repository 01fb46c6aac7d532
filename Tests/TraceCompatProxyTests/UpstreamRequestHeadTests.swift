import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import TraceCompatProxy

/// `UpstreamRequestHead`: which heads go to the agent as received, and the rewritten ones
/// against what NIO's encoder sent before the byte relay (`HopByHopHeaders.forwarded` on NIO's
/// decoded head), read back by NIO's decoder.
@Suite struct UpstreamRequestHeadTests {
    static func scanned(_ text: String) -> (ScannedRequestHead, ByteBuffer) {
        let buffer = ByteBuffer(string: text)
        guard case .head(let head) = RequestHeadScanner.scan(buffer) else { fatalError("not a head: \(text)") }
        return (head, buffer)
    }

    static func decoded(_ bytes: ByteBuffer) throws -> HTTPRequestHead {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.writeInbound(bytes)
        guard case .head(let head)? = try channel.readInbound(as: HTTPServerRequestPart.self) else { throw ChannelError.inputClosed }
        return head
    }

    @Test func aTracersHeadGoesAsReceived() throws {
        for request in try Fixtures.requests("manual-v04") + Fixtures.requests("manual-v05") {
            var text = "\(request.method) \(request.path) HTTP/1.1\r\n"
            for (name, value) in request.headers { text += "\(name): \(value)\r\n" }
            let (head, bytes) = Self.scanned(text + "\r\n")
            #expect(bytes.withUnsafeReadableBytes { UpstreamRequestHead.isRelayedAsReceived(head, in: $0) }, "\(request.name)")
        }
    }

    static let rewritten: [(String, String?)] = [
        ("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nX-Kept: 2\r\nContent-Length: 1\r\n\r\n", nil),
        ("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nConnection: content-length, host\r\nContent-Length: 1\r\n\r\n", nil),
        ("POST /v0.4/traces HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nKeep-Alive: 5\r\n\r\n", nil),
        ("GET /info HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", nil),
        ("GET /info HTTP/1.0\r\n\r\n", nil),
        ("POST http://agent:8126/v0.4/traces?x=1 HTTP/1.1\r\nHost: agent\r\nContent-Length: 1\r\n\r\n", "/v0.4/traces?x=1"),
    ]

    @Test(arguments: rewritten)
    func aHeadThatMustChangeIsWrittenAsNIOsEncoderWroteIt(_ input: (String, String?)) throws {
        let (head, bytes) = Self.scanned(input.0)
        #expect(!bytes.withUnsafeReadableBytes { UpstreamRequestHead.isRelayedAsReceived(head, in: $0) })
        let out = bytes.withUnsafeReadableBytes { UpstreamRequestHead.rewritten(head, in: $0, target: input.1, allocator: ByteBufferAllocator()) }
        let sent = try Self.decoded(out)
        let received = try Self.decoded(bytes)
        #expect(sent.version == .http1_1)
        #expect(sent.method == received.method)
        #expect(sent.uri == (input.1 ?? received.uri))
        let expected = HopByHopHeaders.forwarded(received.headers, framing: head.framing)
        #expect(sent.headers.map { "\($0.name): \($0.value)" } == expected.map { "\($0.name): \($0.value)" }, "\(input.0)")
    }
}
