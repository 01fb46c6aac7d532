import TextOutput

/// An answer the proxy writes itself (admin routes, sink mode, errors): always complete and
/// small, so it is sent with a `Content-Length`.
public struct LocalResponse: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String = "application/json", body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public init(status: Int, json: String) {
        self.init(status: status, contentType: "application/json", body: Array(json.utf8))
    }

    /// The one-line JSON body of an error the proxy answers itself, naming the upstream.
    public static func error(_ outcome: ProxyOutcome, upstream: UpstreamTarget, detail: String) -> LocalResponse {
        let json = #"{"error":"\#(outcome.rawValue)","upstream":"\#(JSONWriter.escaped(upstream.description))","detail":"\#(JSONWriter.escaped(detail))","source":"trace-compat proxy"}"#
        return LocalResponse(status: outcome.status ?? 502, json: json + "\n")
    }
}

