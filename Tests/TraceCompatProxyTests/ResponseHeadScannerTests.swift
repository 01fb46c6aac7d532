import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing
@testable import TraceCompatProxy

/// The agent's answer heads: where the body ends and whether the connection is reused
/// (RFC 9112 §6.3, §9.3), and the same status and body bytes as NIO's `HTTPResponseDecoder`.
@Suite struct ResponseHeadScannerTests {
    static func head(_ text: String, answersHead: Bool = false) -> ResponseHeadScanner.Scan {
        Array(text.utf8).withUnsafeBytes { ResponseHeadScanner.scan($0, answersHead: answersHead) }
    }

    static func scanned(_ text: String, answersHead: Bool = false) -> ScannedResponseHead? {
        if case .head(let h) = head(text, answersHead: answersHead) { return h }
        return nil
    }

    @Test func theAgentsUsualAnswersAreReadWithTheirFraming() throws {
        let traces = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDatadog-Agent-Version: 7.70.0\r\nDate: x\r\nContent-Length: 40\r\n\r\n"
        let h = try #require(Self.scanned(traces))
        #expect(h.status == 200 && h.framing == .contentLength(40) && h.reusable && !h.hasHopByHop && h.end == traces.utf8.count)
        let version = try #require(h.agentVersion)
        #expect(String(decoding: Array(traces.utf8)[version], as: UTF8.self) == "7.70.0")
        #expect(Self.scanned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?.framing == .chunked)
        #expect(Self.scanned("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?.hasHopByHop == true)
        #expect(Self.scanned("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?.framing == ResponseFraming.none)
        #expect(Self.scanned("HTTP/1.1 404 Not Found\r\nContent-Length: 19\r\n\r\n")?.status == 404)
        #expect(Self.scanned("HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n")?.framing == .contentLength(2), "no reason phrase")
    }

    @Test func bodilessAnswersAndInterimAnswersHaveNoBody() {
        #expect(Self.scanned("HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n", answersHead: true)?.framing == ResponseFraming.none)
        #expect(Self.scanned("HTTP/1.1 204 No Content\r\n\r\n")?.framing == ResponseFraming.none)
        #expect(Self.scanned("HTTP/1.1 304 Not Modified\r\nContent-Length: 40\r\n\r\n")?.framing == ResponseFraming.none)
        let interim = Self.scanned("HTTP/1.1 100 Continue\r\n\r\n")
        #expect(interim?.isInterim == true && interim?.framing == ResponseFraming.none && interim?.reusable == true)
        #expect(Self.head("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n") == .invalid(.switchingProtocols))
    }

    @Test func theConnectionIsReusedOnlyWhenTheAnswerSaysSoAndEndsByItself() {
        #expect(Self.scanned("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n")?.reusable == false)
        #expect(Self.scanned("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n")?.hasHopByHop == true)
        #expect(Self.scanned("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n")?.reusable == false)
        #expect(Self.scanned("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n")?.reusable == true)
        let untilClose = Self.scanned("HTTP/1.1 200 OK\r\n\r\n")
        #expect(untilClose?.framing == .untilClose && untilClose?.reusable == false)
        // RFC 9112 §6.3 item 3: Transfer-Encoding wins, the connection is not reused.
        let both = Self.scanned("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(both?.framing == .chunked && both?.reusable == false)
        // Item 4: a final coding other than chunked is read until the close.
        #expect(Self.scanned("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")?.framing == .untilClose)
    }

    @Test func unreadableHeadsAreRefused() {
        #expect(Self.head("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n") == .invalid(.contentLength))
        #expect(Self.head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n") == .invalid(.contentLength))
        #expect(Self.head("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n") == .invalid(.contentLength))
        #expect(Self.head("HTTP/2.0 200 OK\r\n\r\n") == .invalid(.version))
        #expect(Self.head("HTTP/1.1 20 OK\r\n\r\n") == .invalid(.statusLine))
        #expect(Self.head("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n") == .invalid(.obsFold))
        #expect(Self.head("HTTP/1.1 200 OK\nContent-Length: 1\n\n") == .invalid(.bareLF))
        #expect(Self.head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n") == .needMore(resumeAt: 35))
    }

    /// NIO's response decoder on the same bytes: status and body (de-chunked) agree.
    static func nio(_ bytes: [UInt8]) -> (status: Int, body: [UInt8], ended: Bool)? {
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        do {
            // The decoder reads an answer to a request its encoder sent.
            try channel.pipeline.syncOperations.addHTTPClientHandlers()
            try channel.writeOutbound(HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/info")))
            try channel.writeOutbound(HTTPClientRequestPart.end(nil))
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            return nil
        }
        var status = 0, body: [UInt8] = [], ended = false
        while let part = try? channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let h): status = Int(h.status.code)
            case .body(let b): body += b.readableBytesView
            case .end: ended = true
            }
            if ended { break }
        }
        return (status, body, ended)
    }

    @Test func statusAndBodyAgreeWithNIOsResponseDecoder() throws {
        let answers = [
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"rate_by_service\":{}}\n...",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n{\"a\"\r\n0\r\nT: 1\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n\r\n404 page not found\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
            "HTTP/1.1 413 Request Entity Too Large\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbig",
        ]
        for text in answers {
            let bytes = Array(text.utf8)
            let expected = try #require(Self.nio(bytes), "\(text.debugDescription)")
            let scanned = try #require(bytes.withUnsafeBytes { ResponseHeadScanner.scan($0, answersHead: false) } as ResponseHeadScanner.Scan?)
            guard case .head(let h) = scanned else { Issue.record("\(text.debugDescription): \(scanned)"); continue }
            #expect(h.status == expected.status)
            var body: [UInt8] = []
            let rest = Array(bytes[h.end...])
            switch h.framing {
            case .none: break
            case .contentLength(let n): body = Array(rest.prefix(n))
            case .chunked:
                var chunked = ChunkedBodyScanner()
                let progress = rest.withUnsafeBytes { chunked.feed($0) { body += rest[$0] } }
                #expect(progress == .end(at: rest.count), "\(text.debugDescription)")
            case .untilClose: body = rest
            }
            #expect(body == expected.body && expected.ended, "\(text.debugDescription)")
        }
    }
}
