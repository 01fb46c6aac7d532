import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// Finds and checks an HTTP/1.1 request head in the bytes as a client sent them, and reads only
/// what forwarding needs: method, target, version, the body's framing, `Connection`, `Expect`
/// and whether a hop-by-hop header is present (RFC 9112 §2-§6, RFC 9110 §7.6.1). I/O-free.
///
/// It is the byte relay's replacement for NIO's llhttp-based `HTTPRequestDecoder` followed by
/// `RequestFraming.decide`: nothing is decoded into `String`s or `HTTPHeaders`, so a tracer's
/// usual head costs one pass over its bytes and no allocation. It refuses at least what the two
/// refuse together (`HeadScannerDifferentialTests` runs both on the hostile-client shapes, every
/// fixture's head and thousands of mutations of them), and a few heads llhttp lets through
/// (listed there, each with its rule). The framing rules are `RequestFraming.Tally`'s, the one
/// place they are decided.
public enum RequestHeadScanner {
    /// The outcome of one scan.
    public enum Scan: Equatable {
        case head(ScannedRequestHead)
        /// The head is not complete: scan again, from `resumeAt`, once more bytes arrived.
        case needMore(resumeAt: Int)
        /// Refused: the outcome (status) to answer with and why; the connection then closes.
        case refused(RequestFraming.Refusal, HTTPSyntaxViolation?)
    }

    /// Methods llhttp (NIO's parser) accepts in a request (its `HTTP_METHOD_MAP`): any other
    /// token was refused with 400 before the byte relay, and still is.
    static let knownMethods: [StaticString] = [
        "DELETE", "GET", "HEAD", "POST", "PUT", "CONNECT", "OPTIONS", "TRACE", "COPY", "LOCK", "MKCOL", "MOVE",
        "PROPFIND", "PROPPATCH", "SEARCH", "UNLOCK", "BIND", "REBIND", "UNBIND", "ACL", "REPORT", "MKACTIVITY",
        "CHECKOUT", "MERGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "PATCH", "PURGE", "MKCALENDAR",
        "LINK", "UNLINK", "SOURCE", "QUERY",
    ]

    /// Scans `buffer`'s readable bytes; offsets in the result are relative to its reader index.
    public static func scan(_ buffer: ByteBuffer, resumeAt: Int = 0) -> Scan {
        buffer.withUnsafeReadableBytes { scan($0, resumeAt: resumeAt) }
    }

    /// Scans `bytes` from their start (`resumeAt`: where the last scan of the same head stopped).
    public static func scan(_ bytes: UnsafeRawBufferPointer, resumeAt: Int = 0) -> Scan {
        func refuse(_ violation: HTTPSyntaxViolation) -> Scan {
            .refused(RequestFraming.Refusal(outcome: .badRequest, reason: violation.rawValue), violation)
        }
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line
        // (llhttp ignores any number); they are not forwarded.
        var start = 0
        while start + 1 < bytes.count, bytes[start] == HTTPHeadSyntax.cr, bytes[start + 1] == HTTPHeadSyntax.lf { start += 2 }
        if start < bytes.count, bytes[start] == HTTPHeadSyntax.lf { return refuse(.bareLF) }
        let end: Int
        switch HTTPHeadSyntax.headEnd(bytes, start: start, from: resumeAt, limit: ProxyLimits.maxHeadBytes) {
        case .end(let e): end = e
        case .needMore(let resume): return .needMore(resumeAt: resume)
        case .invalid(let violation): return refuse(violation)
        }

        // request-line = method SP request-target SP HTTP-version CRLF (RFC 9112 §3)
        var i = start
        while HTTPHeadSyntax.isToken(bytes[i]) { i += 1 }
        guard i > start, bytes[i] == HTTPHeadSyntax.sp else { return refuse(.methodNotToken) }
        let method = start..<i
        guard let methodIndex = knownMethods.firstIndex(where: { equalsExactly(bytes, method, $0) }) else { return refuse(.unknownMethod) }
        let isConnect = methodIndex == 5, isTrace = methodIndex == 7
        if isConnect {
            return .refused(RequestFraming.Refusal(outcome: .methodNotAllowed, reason: "CONNECT is not forwarded to the agent (RFC 9110 §9.3.6)"), nil)
        }
        i += 1
        let targetStart = i
        // RFC 3986 §2: a URI is ASCII; llhttp refuses obs-text in the target too.
        while bytes[i] > HTTPHeadSyntax.sp && bytes[i] < 0x7F { i += 1 }
        let target = targetStart..<i
        guard bytes[i] == HTTPHeadSyntax.sp, !target.isEmpty else { return refuse(.targetByte) }
        guard isTargetForm(bytes, target, isOptions: methodIndex == 6) else { return refuse(.targetForm) }
        i += 1
        guard i + 10 <= end, equalsExactly(bytes, i..<(i + 7), "HTTP/1."), bytes[i + 8] == HTTPHeadSyntax.cr,
              bytes[i + 7] == UInt8(ascii: "0") || bytes[i + 7] == UInt8(ascii: "1")
        else { return refuse(.version) }
        let http11 = bytes[i + 7] == UInt8(ascii: "1")
        i += 10
        let fieldsStart = i

        var tally = RequestFraming.Tally()
        var flags = ScannedRequestHead.Flags()
        var connectionClose = false, connectionKeepAlive = false
        let violation = HTTPHeadSyntax.forEachField(bytes, from: i, end: end - 2, maxFields: ProxyLimits.maxHeaderFields) { name, value in
            switch name.count {
            case 4, 14, 17:
                tally.add(name: UnsafeRawBufferPointer(rebasing: bytes[name]), value: UnsafeRawBufferPointer(rebasing: bytes[value]))
                if name.count == 17, HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "transfer-encoding") { flags.insert(.hopByHop) }
            case 6 where HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "expect"):
                if HTTPHeadSyntax.equalsIgnoringCase(bytes, value, "100-continue") { flags.insert(.expectsContinue) }
            case 10 where HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "connection"):
                flags.insert(.hopByHop)
                HTTPHeadSyntax.forEachListElement(bytes, value) { token in
                    if HTTPHeadSyntax.equalsIgnoringCase(bytes, token, "close") { connectionClose = true }
                    if HTTPHeadSyntax.equalsIgnoringCase(bytes, token, "keep-alive") { connectionKeepAlive = true }
                }
            case 2, 7, 10, 16:
                if isAlwaysHopByHop(bytes, name) { flags.insert(.hopByHop) }
            default:
                break
            }
            return nil
        }
        if let violation { return refuse(violation) }
        switch tally.decide(http11: http11, isTrace: isTrace) {
        case .failure(let refusal):
            return .refused(refusal, nil)
        case .success(let framing):
            if http11 ? !connectionClose : connectionKeepAlive { flags.insert(.keepAlive) }
            return .head(ScannedRequestHead(
                start: start, fieldsStart: fieldsStart, end: end, method: method, target: target, http11: http11, framing: framing, flags: flags))
        }
    }

    /// `keep-alive`, `proxy-connection`, `te`, `upgrade` (and `connection`, handled apart).
    private static func isAlwaysHopByHop(_ bytes: UnsafeRawBufferPointer, _ name: Range<Int>) -> Bool {
        HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "te") || HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "upgrade")
            || HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "keep-alive")
            || HTTPHeadSyntax.equalsIgnoringCase(bytes, name, "proxy-connection")
    }

    /// origin-form (`/…`), absolute-form (`scheme://…`, RFC 9112 §3.2.2) or `*` for OPTIONS
    /// (§3.2.4). (authority-form is CONNECT's, refused before.)
    private static func isTargetForm(_ bytes: UnsafeRawBufferPointer, _ target: Range<Int>, isOptions: Bool) -> Bool {
        let first = bytes[target.lowerBound]
        if first == UInt8(ascii: "/") { return true }
        if first == UInt8(ascii: "*") { return isOptions && target.count == 1 }
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1), then "://".
        var i = target.lowerBound
        guard (first | 0x20) >= UInt8(ascii: "a"), (first | 0x20) <= UInt8(ascii: "z") else { return false }
        while i < target.upperBound {
            let b = bytes[i]
            let lower = b | 0x20
            if (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") {
                i += 1
            } else {
                break
            }
        }
        return target.upperBound - i > 3 && equalsExactly(bytes, i..<(i + 3), "://")
    }

    /// Byte-for-byte equality with an ASCII literal (methods are case-sensitive, RFC 9110 §9.1).
    static func equalsExactly(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let l = literal.utf8Start
        var j = 0
        for i in range {
            if bytes[i] != l[j] { return false }
            j += 1
        }
        return true
    }
}

/// What `RequestHeadScanner` read of one request head: offsets into the scanned bytes, no copies.
public struct ScannedRequestHead: Sendable, Equatable {
    /// Where the request-line starts (after empty lines ignored before it, RFC 9112 §2.2).
    public var start: Int
    /// Where the first field line starts (just past the request-line).
    public var fieldsStart: Int
    /// Just past the empty line that ends the head: the body (or the next request) starts here.
    public var end: Int
    public var method: Range<Int>
    public var target: Range<Int>
    public var http11: Bool
    public var framing: RequestFraming
    public var flags: Flags

    public struct Flags: OptionSet, Sendable, Equatable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// A hop-by-hop header is present (RFC 9110 §7.6.1): the head must be rewritten for the
        /// agent (`HopByHopHeaders`), it cannot be relayed as received.
        public static let hopByHop = Flags(rawValue: 1)
        /// `Expect: 100-continue` (RFC 9110 §10.1.1).
        public static let expectsContinue = Flags(rawValue: 2)
        /// The client's connection stays open after the answer (RFC 9112 §9.3).
        public static let keepAlive = Flags(rawValue: 4)
    }

    /// The head's length in bytes, from the request-line to the empty line included.
    public var length: Int { end - start }

    /// Calls `field` with each field's name and value ranges in `bytes` (the bytes scanned; the
    /// fields were checked by the scan). For a head that must be rewritten, and for tests.
    public func forEachField(in bytes: UnsafeRawBufferPointer, _ field: (Range<Int>, Range<Int>) -> Void) {
        _ = HTTPHeadSyntax.forEachField(bytes, from: fieldsStart, end: end - 2, maxFields: .max) { name, value in
            field(name, value)
            return nil
        }
    }

    /// `forEachField` without checking the fields' syntax again, for the analysis thread
    /// (`ForwardedRequest.capturedHead()`), where the checking walk, a test per byte, was a
    /// tenth of a small payload's analysis. It relies on what the scan accepted: every field line
    /// is `name ":" OWS value OWS CRLF` with no CR but its last (a bare CR or LF, obs-fold and
    /// whitespace before the colon were refused), and a name holds no colon (a token), so a line
    /// ends at its CR and the name at the line's first colon. Given other bytes it stops or skips
    /// a line; it never reads outside `bytes`. `HeadScannerDifferentialTests` checks that it
    /// gives `forEachField`'s ranges on every head the scan accepts.
    public func forEachAcceptedField(in bytes: UnsafeRawBufferPointer, _ field: (Range<Int>, Range<Int>) -> Void) {
        guard let base = bytes.baseAddress else { return }
        let end = min(self.end - 2, bytes.count)
        var i = fieldsStart
        while i < end {
            guard let crAt = memchr(base + i, Int32(HTTPHeadSyntax.cr), end - i) else { return }
            let cr = base.distance(to: UnsafeRawPointer(crAt))
            if let colonAt = memchr(base + i, Int32(UInt8(ascii: ":")), cr - i) {
                let colon = base.distance(to: UnsafeRawPointer(colonAt))
                var valueStart = colon + 1, valueEnd = cr
                while valueStart < valueEnd, HTTPHeadSyntax.isWhitespace(bytes[valueStart]) { valueStart += 1 }
                while valueEnd > valueStart, HTTPHeadSyntax.isWhitespace(bytes[valueEnd - 1]) { valueEnd -= 1 }
                field(i..<colon, valueStart..<valueEnd)
            }
            i = cr + 2
        }
    }
}
