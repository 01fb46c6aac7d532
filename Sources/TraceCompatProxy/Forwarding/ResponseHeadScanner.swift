import NIOCore

/// Finds and checks the agent's answer head in the bytes as read, and reads only what the relay
/// needs: the status, where the answer's body ends, whether the agent's connection can carry
/// another request, whether a hop-by-hop header must be removed for the client, and the
/// `Datadog-Agent-Version` value for analysis. I/O-free; no `String` or `HTTPHeaders`.
///
/// The body's length, in the order of RFC 9112 §6.3:
/// 1. an answer to HEAD, any 1xx (interim: another head follows, §15.2 of RFC 9110), 204 and 304
///    have none;
/// 3. `Transfer-Encoding` wins over `Content-Length`, and the connection is not reused;
/// 4. a `Transfer-Encoding` whose final coding is not `chunked` is read until the close;
/// 5. a `Content-Length` that is not one number is an unrecoverable error (refused: the exchange
///    ends as `upstream_reset`, the agent connection is dropped);
/// 6. a valid `Content-Length` gives the length;
/// 7. otherwise the body is everything until the agent closes.
/// The connection is reused only on HTTP/1.1 without `Connection: close` (or HTTP/1.0 with
/// `keep-alive`), and never after a body read until the close (RFC 9112 §9.3).
public enum ResponseHeadScanner {
    public enum Scan: Equatable {
        case head(ScannedResponseHead)
        case needMore(resumeAt: Int)
        case invalid(HTTPSyntaxViolation)
    }

    public static func scan(_ buffer: ByteBuffer, resumeAt: Int = 0, answersHead: Bool) -> Scan {
        buffer.withUnsafeReadableBytes { scan($0, resumeAt: resumeAt, answersHead: answersHead) }
    }

    /// Scans `bytes` from their start; `answersHead` when the request was `HEAD`.
    public static func scan(_ bytes: UnsafeRawBufferPointer, resumeAt: Int = 0, answersHead: Bool) -> Scan {
        let end: Int
        switch HTTPHeadSyntax.headEnd(bytes, start: 0, from: resumeAt, limit: ProxyLimits.maxHeadBytes) {
        case .end(let e): end = e
        case .needMore(let resume): return .needMore(resumeAt: resume)
        case .invalid(let violation): return .invalid(violation)
        }
        // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF (RFC 9112 §4)
        guard end >= 14, RequestHeadScanner.equalsExactly(bytes, 0..<7, "HTTP/1."),
              bytes[7] == UInt8(ascii: "0") || bytes[7] == UInt8(ascii: "1")
        else { return .invalid(.version) }
        let http11 = bytes[7] == UInt8(ascii: "1")
        var status = 0
        for i in 9..<12 {
            let b = bytes[i]
            guard b >= 0x30 && b <= 0x39 else { return .invalid(.statusLine) }
            status = status * 10 + Int(b - 0x30)
        }
        guard bytes[8] == HTTPHeadSyntax.sp, bytes[12] == HTTPHeadSyntax.sp || bytes[12] == HTTPHeadSyntax.cr, status >= 100 else {
            return .invalid(.statusLine)
        }
        var i = 12
        // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
        while bytes[i] != HTTPHeadSyntax.cr {
            guard HTTPHeadSyntax.isFieldValueByte(bytes[i]) else { return .invalid(.statusLine) }
            i += 1
        }
        i += 2
        if status == 101 { return .invalid(.switchingProtocols) }

        var lengthCount = 0
        var length: Int?
        var hasTransferEncoding = false, lastCodingIsChunked = false
        var connectionClose = false, connectionKeepAlive = false, hopByHop = false
        var agentVersion: Range<Int>?
        let violation = HTTPHeadSyntax.forEachField(bytes, from: i, end: end - 2, maxFields: ProxyLimits.maxHeaderFields) { name, value in
            switch name.count {
            case 14 where HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "content-length"):
                HTTPHeadSyntax.forEachListElement(bytes, value) { element in
                    lengthCount += 1
                    length = HTTPHeadSyntax.decimalLength(bytes, element)
                }
            case 17 where HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "transfer-encoding"):
                hasTransferEncoding = true
                hopByHop = true
                HTTPHeadSyntax.forEachListElement(bytes, value) { lastCodingIsChunked = HTTPHeadSyntax.equalsIgnoringCase(bytes, $0, "chunked") }
            case 10 where HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "connection"):
                hopByHop = true
                HTTPHeadSyntax.forEachListElement(bytes, value) { token in
                    if HTTPHeadSyntax.equalsIgnoringCase(bytes, token, "close") { connectionClose = true }
                    if HTTPHeadSyntax.equalsIgnoringCase(bytes, token, "keep-alive") { connectionKeepAlive = true }
                }
            case 21 where HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "datadog-agent-version"):
                agentVersion = value
            case 2, 7, 10, 16:
                if HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "te") || HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "upgrade")
                    || HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "keep-alive")
                    || HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "proxy-connection") {
                    hopByHop = true
                }
            default:
                break
            }
            return nil
        }
        if let violation { return .invalid(violation) }

        var reusable = http11 ? !connectionClose : connectionKeepAlive
        let framing: ResponseFraming
        if answersHead || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if hasTransferEncoding {
            framing = lastCodingIsChunked ? .chunked : .untilClose
            if lengthCount > 0 || !lastCodingIsChunked { reusable = false }
        } else if lengthCount > 0 {
            guard lengthCount == 1, let length else { return .invalid(.contentLength) }
            framing = length == 0 ? .none : .contentLength(length)
        } else {
            framing = .untilClose
            reusable = false
        }
        return .head(ScannedResponseHead(
            end: end, status: status, http11: http11, framing: framing, reusable: reusable,
            hasHopByHop: hopByHop, agentVersion: agentVersion))
    }
}

/// How an answer's body is delimited (RFC 9112 §6.3).
public enum ResponseFraming: Sendable, Equatable {
    case none
    case contentLength(Int)
    case chunked
    /// Read until the agent closes the connection.
    case untilClose
}

/// What `ResponseHeadScanner` read of one answer head: offsets into the scanned bytes.
public struct ScannedResponseHead: Sendable, Equatable {
    /// Just past the empty line that ends the head.
    public var end: Int
    public var status: Int
    public var http11: Bool
    public var framing: ResponseFraming
    /// The agent's connection can carry another request after this answer.
    public var reusable: Bool
    /// A hop-by-hop header is present: the head is rewritten for the client (only then).
    public var hasHopByHop: Bool
    /// The value of `Datadog-Agent-Version`, for analysis (V4-AGENT).
    public var agentVersion: Range<Int>?

    /// A 1xx: the final answer's head follows (RFC 9110 §15.2).
    public var isInterim: Bool { status < 200 }
}
