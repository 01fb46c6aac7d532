import HopByHop
import NIOHTTP1
import TraceAnalysis

/// Removes the headers that belong to one connection and not to the message (RFC 9110 §7.6.1):
/// `Connection` and every header it names, plus `Keep-Alive`, `Proxy-Connection`, `TE`,
/// `Transfer-Encoding` and `Upgrade`. Everything else passes unchanged and in order.
///
/// `Transfer-Encoding` is dropped because the proxy declares each hop's framing itself: a head
/// that must be written again declares `Transfer-Encoding: chunked` for a chunked body, whose
/// chunks go on as the client sent them, checked by `ChunkedBodyScanner`
/// (`UpstreamRequestHead.rewritten`; `forwarded(_:framing:)` is the same rule on decoded
/// headers, the reference the tests hold it to).
///
/// `Connection` cannot nominate `Content-Length` or `Host` (nor `Transfer-Encoding`, which the
/// proxy declares itself): RFC 9110 §7.6.1 lets `Connection` list only connection options, and a
/// client that could make the proxy drop the framing header would have its body read by the agent
/// as a second request on a pooled connection (request smuggling, RFC 9112 §11.2).
public enum HopByHopHeaders {
    static let always = HopByHopHeaderNames.always
    /// End-to-end headers that `Connection` can never turn into hop-by-hop ones.
    static let neverNominated: Set<String> = ["content-length", "host"]

    /// The end-to-end headers of `headers`.
    public static func removing(from headers: HTTPHeaders) -> HTTPHeaders {
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
    public static func forwarded(_ headers: HTTPHeaders, framing: RequestFraming) -> HTTPHeaders {
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
    public static func hasHopByHop(_ headers: HTTPHeaders) -> Bool {
        headers.contains(where: { isAlwaysHopByHop($0.name) })
    }

    /// True for the names in `always`, compared ASCII case-insensitively without allocating.
    /// (`Connection` is one of them, so headers it names are only looked for when it is present.)
    public static func isAlwaysHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2, 7, 10, 16, 17: return always.contains { CapturedRequest.asciiCaseInsensitiveEquals($0, name) }
        default: return false
        }
    }

    /// True when the message body is framed by chunked transfer coding (RFC 9112 §6.1).
    public static func isChunked(_ headers: HTTPHeaders) -> Bool {
        headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
    }
}

/// Removes optional whitespace (SP / HTAB, RFC 9110 §5.6.3) around a list element.
func trimmedOWS(_ token: Substring) -> String {
    var s = token
    while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" { s.removeLast() }
    return String(s)
}
