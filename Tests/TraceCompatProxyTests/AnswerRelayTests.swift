import NIOCore
import Testing
@testable import TraceCompatProxy

/// `AnswerRelay` over the agent's bytes, read in one piece and one byte at a time: the bytes
/// handed on are exactly the agent's, the end is found where RFC 9112 §6.3 puts it, and the
/// connection is reused only when it may be.
@Suite struct AnswerRelayTests {
    /// What the relay handed on: head bytes, body bytes, de-chunked data, the end and faults.
    struct Relayed: Equatable {
        var head = ""
        var status = 0
        var body = ""
        var data = ""
        var end: Bool?  // reusable, once ended
        var invalid: HTTPSyntaxViolation?
    }

    static func relay(_ text: String, piece: Int = .max, answersHead: Bool = false, collectsData: Bool = false, closeAtEnd: Bool = false) -> Relayed {
        var relay = AnswerRelay()
        relay.expectAnswer(answersHead: answersHead, collectsData: collectsData)
        var out = Relayed()
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = min(piece, bytes.count - offset)
            relay.read(ByteBuffer(bytes: bytes[offset..<(offset + n)])) { event in
                switch event {
                case .head(let head, let buffer): out.head += String(buffer: buffer); out.status = head.status
                case .body(let buffer): out.body += String(buffer: buffer)
                case .data(let buffer): out.data += String(buffer: buffer)
                case .end(let reusable): out.end = reusable
                case .invalid(let violation): out.invalid = violation
                }
            }
            offset += n
        }
        if closeAtEnd, case .end(let reusable)? = relay.closed() { out.end = reusable }
        return out
    }

    static func both(_ text: String, answersHead: Bool = false, collectsData: Bool = false, closeAtEnd: Bool = false) -> Relayed {
        let whole = relay(text, answersHead: answersHead, collectsData: collectsData, closeAtEnd: closeAtEnd)
        let trickled = relay(text, piece: 1, answersHead: answersHead, collectsData: collectsData, closeAtEnd: closeAtEnd)
        #expect(whole == trickled, "\(text.debugDescription)")
        return whole
    }

    @Test func aContentLengthAnswerIsHandedOnAsTheAgentsBytes() {
        let head = "HTTP/1.1 200 OK\r\ncontent-type:  application/json\r\nDatadog-Agent-Version: 7.70.0\r\nContent-Length: 22\r\n\r\n"
        let r = Self.both(head + "{\"rate_by_service\":{}}")
        #expect(r == Relayed(head: head, status: 200, body: "{\"rate_by_service\":{}}", end: true))
    }

    @Test func aChunkedAnswerIsHandedOnWithItsFramingAndItsDataWhenAsked() {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let body = "4\r\none,\r\n4;x=y\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n"
        #expect(Self.both(head + body) == Relayed(head: head, status: 200, body: body, end: true))
        #expect(Self.both(head + body, collectsData: true) == Relayed(head: head, status: 200, body: body, data: "one,two,three", end: true))
        #expect(Self.both(head + "zz\r\n").invalid == .chunkSize)
    }

    @Test func interimAnswersAreDroppedAndBodilessAnswersEndWithTheirHead() {
        let final = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
        #expect(Self.both("HTTP/1.1 100 Continue\r\n\r\n" + final + "{}") == Relayed(head: final, status: 200, body: "{}", end: true))
        #expect(Self.both(final, answersHead: true) == Relayed(head: final, status: 200, end: true))
        #expect(Self.both("HTTP/1.1 204 No Content\r\n\r\n") == Relayed(head: "HTTP/1.1 204 No Content\r\n\r\n", status: 204, end: true))
    }

    @Test func theConnectionIsReusedOnlyWhenItMayBe() {
        #expect(Self.both("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").end == false)
        let untilClose = Self.both("HTTP/1.1 200 OK\r\n\r\nsome bytes", closeAtEnd: true)
        #expect(untilClose.body == "some bytes" && untilClose.end == false, "a body read until the close ends with it")
        // Bytes after the end of an answer: nobody asked for them.
        let extra = Self.relay("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n")
        #expect(extra.end == true && extra.invalid == .statusLine)
        #expect(Self.both("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n").invalid == .contentLength)
    }
}
