import NIOHTTP1

/// How an answer the proxy writes itself (`LocalResponse`: sink mode, admin routes, errors, the
/// 408 of `header_timeout`) goes on the wire, without I/O: the head with its `Content-Length` and,
/// when the connection ends with it, `Connection: close`; whether the body is sent at all (never
/// for `HEAD`, RFC 9110 §9.3.2; a refused `CONNECT` gets none either).
struct LocalAnswer {
    var head: HTTPResponseHead
    var sendsBody: Bool
    var closeAfter: Bool

    /// `requestMethod`: nil when no request head was read (`header_timeout`).
    init(_ response: LocalResponse, requestVersion: HTTPVersion, requestMethod: HTTPMethod?, close: Bool) {
        var head = HTTPResponseHead(version: requestVersion, status: HTTPResponseStatus(statusCode: response.status))
        head.headers.add(name: "content-type", value: response.contentType)
        head.headers.add(name: "content-length", value: String(response.body.count))
        if close { head.headers.add(name: "connection", value: "close") }
        self.head = head
        self.sendsBody = requestMethod != .HEAD && requestMethod != .CONNECT
        self.closeAfter = close
    }
}
