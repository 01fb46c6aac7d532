import NIOCore
import NIOHTTP1
import Testing
@testable import TraceCompatProxy

/// The handler's smaller decisions, without a socket: when writes are flushed (`FlushBatch`),
/// when the agent has taken too long (`AnswerClock`), the head of a relayed answer
/// (`ClientResponseHead`, on the agent's bytes) and of a local one (`LocalAnswer`), and the error texts (`ErrorDetail`).
@Suite struct ForwardingDecisionTests {
    final class Channel {}

    @Test func requestPartsWaitForTheEndOfTheReadBurstExceptTheRequestsEnd() {
        var batch = FlushBatch<Channel>()
        let agent = Channel()
        batch.clientReadStarted()
        let head = batch.wroteUpstream(agent, endOfRequest: false)
        #expect(head.now == false && head.previous == nil, "the head waits for the rest of the burst")
        batch.clientReadEnded()
        #expect(batch.takeUpstream() === agent, "flushed at channelReadComplete")
        #expect(batch.takeUpstream() == nil, "and only once")
        batch.clientReadStarted()
        let end = batch.wroteUpstream(agent, endOfRequest: true)
        #expect(end.now == true, "the request's end goes at once: the answer timer starts with it")
        #expect(batch.takeUpstream() == nil)
    }

    @Test func partsWrittenOutsideAClientReadAreFlushedAtOnce() {
        var batch = FlushBatch<Channel>()
        let flush = batch.wroteUpstream(Channel(), endOfRequest: false)
        #expect(flush.now == true, "a lease completing later has no read burst to wait for")
    }

    @Test func aReconnectFlushesWhatThePreviousConnectionHolds() {
        var batch = FlushBatch<Channel>()
        let old = Channel(), new = Channel()
        batch.clientReadStarted()
        _ = batch.wroteUpstream(old, endOfRequest: false)
        let flush = batch.wroteUpstream(new, endOfRequest: false)
        #expect(flush.previous === old && flush.now == false)
        #expect(batch.takeUpstream() === new)
    }

    @Test func answerPartsAreFlushedOncePerAgentReadBurst() {
        var batch = FlushBatch<Channel>()
        #expect(batch.takeClient() == false)
        batch.wroteClient()
        batch.wroteClient()
        #expect(batch.takeClient() == true)
        #expect(batch.takeClient() == false, "two parts, one flush")
    }

    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    @Test func theAnswerClockRunsFromTheLastRequestByteThenOnSilence() {
        var clock = AnswerClock(timeout: .seconds(10))
        #expect(clock.check(at: start) == .notWaiting, "nothing sent, nothing awaited")
        clock.requestSent(at: start)
        #expect(clock.check(at: start + .seconds(4)) == .checkAgain(in: .seconds(6)))
        #expect(clock.answerStarted(at: start + .seconds(9)) == .seconds(9), "the agent's latency")
        #expect(clock.check(at: start + .seconds(12)) == .checkAgain(in: .seconds(7)), "silence since the status line")
        clock.answerPartArrived(at: start + .seconds(18))
        #expect(clock.check(at: start + .seconds(27)) == .checkAgain(in: .seconds(1)))
        #expect(clock.check(at: start + .seconds(28)) == .timedOut)
    }

    @Test func anAnswerThatNeverStartsTimesOut() {
        var clock = AnswerClock(timeout: .seconds(10))
        clock.requestSent(at: start)
        #expect(clock.check(at: start + .seconds(10)) == .timedOut)
    }

    /// The client's view of an agent head given as text: the head written again (nil: the agent's
    /// bytes as they are), the body mode and whether the client connection closes.
    private func relayed(_ text: String, answersHead: Bool = false, http11: Bool = true, close: Bool = false) -> (String?, ClientResponseHead.Body, Bool)? {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in
            guard case .head(let head) = ResponseHeadScanner.scan(raw, answersHead: answersHead) else { return nil }
            let client = ClientResponseHead(upstream: head, bytes: raw, requestHTTP11: http11, closeAfterResponse: close)
            return (client.rewritten.map { String(decoding: $0, as: UTF8.self) }, client.body, client.closeAfterResponse)
        }
    }

    @Test func theUsualAnswerGoesAsTheAgentsBytes() {
        let usual = relayed("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n")
        #expect(usual?.0 == nil && usual?.1 == .relayed && usual?.2 == false)
    }

    @Test func aRelayedHeadLosesHopByHopHeadersAndKeepsTheRestInOrder() {
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\n"
            + "Keep-Alive: timeout=5\r\nContent-Length: 2\r\nDatadog-Agent-Version: 7.64.0\r\n\r\n"
        let client = relayed(text)
        #expect(client?.0 == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nDatadog-Agent-Version: 7.64.0\r\n\r\n")
        #expect(client?.2 == false)
        // Connection cannot name Content-Length away (RFC 9110 §7.6.1).
        let nominated = relayed("HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\n")
        #expect(nominated?.0 == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    }

    @Test func aChunkedAnswerIsRelayedAsChunksToHTTP11AndDeChunkedUntilTheCloseForHTTP10() {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        let v11 = relayed(chunked)
        #expect(v11?.0 == chunked && v11?.1 == .relayed && v11?.2 == false, "the chunk framing goes with its header")
        let v10 = relayed(chunked, http11: false)
        #expect(v10?.0 == "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n" && v10?.1 == .deChunked && v10?.2 == true)
        let noContent = relayed("HTTP/1.1 204 No Content\r\n\r\n", http11: false)
        #expect(noContent?.0 == "HTTP/1.0 204 No Content\r\n\r\n" && noContent?.2 == false, "a 204 has no body to frame")
        let head = relayed("HTTP/1.1 200 OK\r\n\r\n", answersHead: true, close: true)
        #expect(head?.0 == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        let untilClose = relayed("HTTP/1.1 200 OK\r\n\r\n")
        #expect(untilClose?.0 == "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" && untilClose?.2 == true, "ended by the close on both sides")
    }

    @Test func aLocalAnswerDeclaresItsLengthAndSendsNoBodyToHEAD() {
        let response = LocalResponse(status: 200, json: "{}\n")
        let get = LocalAnswer(response, requestVersion: .http1_1, requestMethod: .GET, close: false)
        #expect(get.head.headers.map { "\($0.name): \($0.value)" } == ["content-type: application/json", "content-length: 3"])
        #expect(get.sendsBody && !get.closeAfter && get.head.status == .ok)
        let head = LocalAnswer(response, requestVersion: .http1_0, requestMethod: .HEAD, close: true)
        #expect(!head.sendsBody && head.closeAfter && head.head.version == .http1_0)
        #expect(head.head.headers["connection"] == ["close"] && head.head.headers["content-length"] == ["3"])
        let timeout = LocalAnswer(response, requestVersion: .http1_1, requestMethod: nil, close: true)
        #expect(timeout.sendsBody, "a 408 before any head still explains itself")
    }

    @Test func errorTextsNameTheSettingToChange() {
        var configuration = ProxyConfiguration()
        configuration.upstream = .http(host: "127.0.0.1", port: 8126)
        configuration.upstreamTimeout = 3
        configuration.maxBodyBytes = 1000
        configuration.headerTimeout = 7
        #expect(ErrorDetail.text(for: .upstreamTimeout, configuration: configuration, failure: nil)
            == "the agent at http://127.0.0.1:8126 did not answer within 3.0s (upstream_timeout)")
        #expect(ErrorDetail.text(for: .upstreamUnreachable, configuration: configuration, failure: "connection refused")
            == "the agent at http://127.0.0.1:8126 refused or dropped the connection: connection refused")
        #expect(ErrorDetail.text(for: .payloadTooLarge, configuration: configuration, failure: nil)
            == "request body larger than max_body_bytes=1000 (the agent's apm_config.max_payload_size)")
        #expect(ErrorDetail.text(for: .headerTimeout, configuration: configuration, failure: nil)
            == "the request head was not complete within header_timeout=7.0s")
        #expect(ErrorDetail.text(for: .methodNotAllowed, configuration: configuration, failure: "CONNECT is not forwarded") == "CONNECT is not forwarded")
        #expect(ErrorDetail.text(for: .badRequest, configuration: configuration, failure: nil) == "bad_request")
    }
}
