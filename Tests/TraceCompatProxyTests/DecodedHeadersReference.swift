import NIOHTTP1
import TraceAnalysis
@testable import TraceCompatProxy

// The hop-by-hop and framing rules written on NIO's decoded `HTTPHeaders`: what the proxy did
// before the byte relay (NIO's decoder and encoder on the agent hop), kept as the tests'
// reference for the byte scanners (`RequestHeadScanner`, `UpstreamRequestHead`), which the
// proxy runs instead. Not in the product: nothing there decodes a forwarded head any more.

extension HopByHopHeaders {
    /// The end-to-end headers of `headers`.
    static func removing(from headers: HTTPHeaders) -> HTTPHeaders {
        // The usual case (a tracer's request, the agent's answer): no hop-by-hop header at all,
        // so the headers pass as they are, with no copy and no lowercased names.
        guard hasHopByHop(headers) else { return headers }
        var named = always
        for value in headers["connection"] {
            for token in value.split(separator: ",") {
                let name = trimmedOWS(token).lowercased()
                if !neverNominated.contains(name) { named.insert(name) }
            }
        }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count)
        for (name, value) in headers where !named.contains(name.lowercased()) {
            kept.add(name: name, value: value)
        }
        return kept
    }

    /// Headers for the next hop: end-to-end headers, with the framing `RequestFraming` decided
    /// declared explicitly (RFC 9112 §6.1, §6.2): `Transfer-Encoding: chunked` for a chunked body,
    /// the one validated `Content-Length` otherwise. On decoded headers: what NIO's encoder sent
    /// before the byte relay, now the reference `UpstreamRequestHead` is tested against.
    static func forwarded(_ headers: HTTPHeaders, framing: RequestFraming) -> HTTPHeaders {
        var next = removing(from: headers)
        switch framing {
        case .chunked:
            next.add(name: "transfer-encoding", value: "chunked")
        case .contentLength(let length):
            // Present already (validated, one value) unless `Connection` had named it.
            if !next.contains(name: "content-length") { next.add(name: "content-length", value: String(length)) }
        case .none:
            break
        }
        return next
    }

    /// True when `headers` holds a header that `removing(from:)` removes.
    static func hasHopByHop(_ headers: HTTPHeaders) -> Bool {
        headers.contains(where: { isAlwaysHopByHop($0.name) })
    }

    /// True for the names in `always`, compared ASCII case-insensitively without allocating.
    /// (`Connection` is one of them, so headers it names are only looked for when it is present.)
    static func isAlwaysHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2, 7, 10, 16, 17: return always.contains { CapturedRequest.asciiCaseInsensitiveEquals($0, name) }
        default: return false
        }
    }

    /// True when the message body is framed by chunked transfer coding (RFC 9112 §6.1).
    static func isChunked(_ headers: HTTPHeaders) -> Bool {
        headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
    }
}

/// Removes optional whitespace (SP / HTAB, RFC 9110 §5.6.3) around a list element.
private func trimmedOWS(_ token: Substring) -> String {
    var s = token
    while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" { s.removeLast() }
    return String(s)
}

extension RequestFraming {
    /// The framing of a request with this method, version and headers, or why it is refused.
    static func decide(method: HTTPMethod, version: HTTPVersion, headers: HTTPHeaders) -> Result<RequestFraming, Refusal> {
        if method == .CONNECT { return Tally.refuse(.methodNotAllowed, "CONNECT is not forwarded to the agent (RFC 9110 §9.3.6)") }
        var tally = Tally()
        for (name, value) in headers {
            if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
                return Tally.refuse(.badRequest, "header \(name) spans lines (obs-fold, RFC 9112 §5.2)")
            }
            var name = name, value = value
            name.withUTF8 { n in value.withUTF8 { v in tally.add(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v)) } }
        }
        return tally.decide(http11: (version.major, version.minor) >= (1, 1), isTrace: method == .TRACE)
    }
}
