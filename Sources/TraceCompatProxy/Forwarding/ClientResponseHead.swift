import NIOHTTP1

/// The agent's status line and headers as the client gets them, without I/O: hop-by-hop headers
/// removed (RFC 9110 §7.6.1), framing declared again for this hop (RFC 9112 §6.3), and
/// `Connection: close` when the client connection ends with this answer.
struct ClientResponseHead {
    var head: HTTPResponseHead
    /// The client connection must close after this answer: it was going to already, or the body
    /// of an HTTP/1.0 answer without `Content-Length` ends with the close (RFC 9112 §6.3 item 8).
    var closeAfterResponse: Bool

    init(upstream: HTTPResponseHead, requestMethod: HTTPMethod, requestVersion: HTTPVersion, closeAfterResponse: Bool) {
        // The agent's head as received, changed only where needed: a usual answer (no hop-by-hop
        // header, a Content-Length) goes on without a copy of the head or its headers.
        var head = upstream
        if head.version != requestVersion { head.version = requestVersion }
        if HopByHopHeaders.hasHopByHop(upstream.headers) { head.headers = HopByHopHeaders.removing(from: upstream.headers) }
        var close = closeAfterResponse
        let code = upstream.status.code
        let bodyless = requestMethod == .HEAD || code < 200 || code == 204 || code == 304
        if !bodyless && !head.headers.contains(name: "content-length") {
            if requestVersion.major == 1 && requestVersion.minor >= 1 {
                head.headers.add(name: "transfer-encoding", value: "chunked")
            } else {
                close = true
            }
        }
        if close { head.headers.replaceOrAdd(name: "connection", value: "close") }
        self.head = head
        self.closeAfterResponse = close
    }
}
