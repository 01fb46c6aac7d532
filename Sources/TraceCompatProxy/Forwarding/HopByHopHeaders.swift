import HopByHop

/// Removes the headers that belong to one connection and not to the message (RFC 9110 §7.6.1):
/// `Connection` and every header it names, plus `Keep-Alive`, `Proxy-Connection`, `TE`,
/// `Transfer-Encoding` and `Upgrade`. Everything else passes unchanged and in order.
///
/// `Transfer-Encoding` is dropped because the proxy declares each hop's framing itself: a head
/// that must be written again declares `Transfer-Encoding: chunked` for a chunked body, whose
/// chunks go on as the client sent them, checked by `ChunkedBodyScanner`
/// (`UpstreamRequestHead.rewritten`; the tests hold it to the same rule written on decoded
/// `HTTPHeaders`, `DecodedHeadersReference.swift` in the test target).
///
/// `Connection` cannot nominate `Content-Length` or `Host` (nor `Transfer-Encoding`, which the
/// proxy declares itself): RFC 9110 §7.6.1 lets `Connection` list only connection options, and a
/// client that could make the proxy drop the framing header would have its body read by the agent
/// as a second request on a pooled connection (request smuggling, RFC 9112 §11.2).
public enum HopByHopHeaders {
    /// The names that are always hop-by-hop (lowercase).
    static let always = HopByHopHeaderNames.always
    /// End-to-end headers that `Connection` can never turn into hop-by-hop ones.
    static let neverNominated: Set<String> = ["content-length", "host"]
}
