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
        let json = #"{"error":"\#(outcome.rawValue)","upstream":"\#(jsonEscaped(upstream.description))","detail":"\#(jsonEscaped(detail))","source":"trace-compat proxy"}"#
        return LocalResponse(status: outcome.status ?? 502, json: json + "\n")
    }
}

/// Escapes a string for a JSON string literal (quotes, backslash, control characters).
func jsonEscaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out
}
