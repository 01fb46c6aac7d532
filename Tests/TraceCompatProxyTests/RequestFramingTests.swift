import NIOCore
import NIOHTTP1
import Testing
@testable import TraceCompatProxy

/// Which request heads have one reading of their body's length, without a socket
/// (`RequestFraming`, RFC 9112 §6–§7, RFC 9110 §7.6.1).
@Suite struct RequestFramingTests {
    static func decide(_ headers: [(String, String)], method: HTTPMethod = .POST, version: HTTPVersion = .http1_1) -> Result<RequestFraming, RequestFraming.Refusal> {
        RequestFraming.decide(method: method, version: version, headers: HTTPHeaders(headers))
    }

    static func outcome(_ headers: [(String, String)], method: HTTPMethod = .POST, version: HTTPVersion = .http1_1) -> ProxyOutcome? {
        if case .failure(let refusal) = decide(headers, method: method, version: version) { return refusal.outcome }
        return nil
    }

    @Test func theFramingsATracerUsesAreForwarded() throws {
        #expect(try Self.decide([("Host", "x"), ("Content-Length", "42")]).get() == .contentLength(42))
        #expect(try Self.decide([("Host", "x"), ("Transfer-Encoding", "chunked")]).get() == .chunked)
        #expect(try Self.decide([("Host", "x"), ("transfer-encoding", "Chunked")]).get() == .chunked)
        #expect(try Self.decide([("Host", "x")], method: .GET).get() == RequestFraming.none)
        #expect(try Self.decide([("Host", "x"), ("Content-Length", "0")]).get() == RequestFraming.none)
        // A body on any method keeps its framing (NIO's encoder would declare none for GET).
        #expect(try Self.decide([("Host", "x"), ("Content-Length", "40")], method: .GET).get() == .contentLength(40))
        #expect(try Self.decide([("Host", "x"), ("Transfer-Encoding", "chunked")], method: .DELETE).get() == .chunked)
        // HTTP/1.0 needs no Host.
        #expect(try Self.decide([], method: .GET, version: .http1_0).get() == RequestFraming.none)
        #expect(try Self.decide([("Host", "x")], method: .TRACE).get() == RequestFraming.none)
    }

    @Test func ambiguousFramingIsABadRequest() throws {
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Transfer-Encoding", "chunked"), ("Content-Length", "5")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "5"), ("Content-Length", "5")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "5, 6")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "+5")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "-1")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "0x10")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "99999999999999999999")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "5,")]) == .badRequest, "a list of two, one empty")
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "")]) == .badRequest)
        #expect(try Self.decide([("Host", "x"), ("Content-Length", " 42\t")]).get() == .contentLength(42), "OWS around the one value")
        #expect(Self.outcome([("Host", "x"), ("Transfer-Encoding", "chunked, gzip")]) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("Transfer-Encoding", "chunked")], version: .http1_0) == .badRequest)
        #expect(Self.outcome([("Host", "x"), ("X-Folded", "a\r\n b")]) == .badRequest)
    }

    @Test func hostMustAppearExactlyOnceInHTTP11() {
        #expect(Self.outcome([], method: .GET) == .badRequest)
        #expect(Self.outcome([("Host", "a"), ("Host", "b")], method: .GET) == .badRequest)
        #expect(Self.outcome([("Host", "a"), ("host", "a")], method: .GET) == .badRequest)
        #expect(Self.outcome([("Host", "a"), ("Host", "b")], method: .GET, version: .http1_0) == .badRequest)
    }

    @Test func codingsOtherThanChunkedAreNotImplemented() {
        #expect(Self.outcome([("Host", "x"), ("Transfer-Encoding", "gzip, chunked")]) == .unsupportedTransferCoding)
        #expect(Self.outcome([("Host", "x"), ("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "chunked")]) == .unsupportedTransferCoding)
        #expect(Self.outcome([("Host", "x"), ("Transfer-Encoding", "chunked, chunked")]) == .unsupportedTransferCoding)
    }

    @Test func connectAndTraceWithABodyAreNotAllowed() {
        #expect(Self.outcome([("Host", "agent:8126")], method: .CONNECT) == .methodNotAllowed)
        #expect(Self.outcome([("Host", "x"), ("Content-Length", "40")], method: .TRACE) == .methodNotAllowed)
        #expect(Self.outcome([("Host", "x"), ("Transfer-Encoding", "chunked")], method: .TRACE) == .methodNotAllowed)
        #expect(ProxyOutcome.methodNotAllowed.status == 405)
        #expect(ProxyOutcome.unsupportedTransferCoding.status == 501)
        #expect(ProxyOutcome.badRequest.status == 400)
        #expect(ProxyOutcome.headerTimeout.status == 408)
        #expect(ProxyOutcome.bodyTimeout.status == nil)
    }

    /// `Connection` cannot make the proxy drop the framing or the Host (RFC 9110 §7.6.1): a
    /// `GET` whose `Content-Length` it named used to reach the agent without one.
    @Test func connectionCannotNominateFramingOrHost() {
        let headers = HTTPHeaders([("Host", "x"), ("Connection", "content-length, host, transfer-encoding, x-hop"), ("X-Hop", "1"), ("Content-Length", "40")])
        let next = HopByHopHeaders.forwarded(headers, framing: .contentLength(40))
        #expect(next.map(\.name) == ["Host", "Content-Length"])
        #expect(next["content-length"] == ["40"])
        let chunked = HopByHopHeaders.forwarded(HTTPHeaders([("Host", "x"), ("Transfer-Encoding", "chunked")]), framing: .chunked)
        #expect(chunked["transfer-encoding"] == ["chunked"])
    }

    /// A tracer's usual head goes on as received (its bytes, `UpstreamRequestHead`); every other
    /// shape is written again, as `forwarded` would write its decoded headers.
    @Test func onlyHeadsThatNeedItAreRewrittenForTheAgent() {
        func relayed(_ text: String) -> Bool {
            let bytes = ByteBuffer(string: "POST /v0.4/traces HTTP/1.1\r\n" + text + "\r\n")
            guard case .head(let head) = RequestHeadScanner.scan(bytes) else { return false }
            return bytes.withUnsafeReadableBytes { UpstreamRequestHead.isRelayedAsReceived(head, in: $0) }
        }
        let usual = HTTPHeaders([("Host", "x"), ("Content-Type", "application/msgpack"), ("Content-Length", "40")])
        #expect(relayed("Host: x\r\nContent-Type: application/msgpack\r\nContent-Length: 40\r\n"))
        #expect(HopByHopHeaders.forwarded(usual, framing: .contentLength(40)) == usual)
        #expect(relayed("Host: x\r\n"))
        #expect(!relayed("Host: x\r\nKeep-Alive: timeout=5\r\nContent-Length: 40\r\n"))
        #expect(!relayed("Host: x\r\nConnection: content-length\r\nContent-Length: 40\r\n"))
        #expect(!relayed("Host: x\r\nTransfer-Encoding: chunked\r\n"))
    }
}
