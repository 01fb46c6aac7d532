/// Where `trace-replay` sends requests, or where `trace-replay --serve` listens: a TCP host and port, or a unix
/// socket path (the Datadog Agent listens on both; ddtrace uses `unix:///var/run/datadog/apm.socket`).
public enum ReplayTarget: Sendable, Equatable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `http://host:port`, `host:port`, `unix:///path/to.sock` or `/path/to.sock`.
    /// A path after `host:port` is ignored: requests use each payload's own path.
    public init(_ text: String) throws(ReplayError) {
        if text.hasPrefix("unix://") {
            let path = String(text.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw ReplayError.badTarget(text, "a unix socket needs an absolute path (unix:///path)") }
            self = .unix(path: path)
            return
        }
        if text.hasPrefix("/") { self = .unix(path: text); return }
        var rest = Substring(text)
        if rest.hasPrefix("http://") { rest = rest.dropFirst("http://".count) }
        else if rest.contains("://") { throw ReplayError.badTarget(text, "only http:// and unix:// are supported") }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let host: Substring, portText: Substring
        if rest.hasPrefix("[") {  // [::1]:8126
            guard let close = rest.firstIndex(of: "]") else { throw ReplayError.badTarget(text, "unclosed [ in an IPv6 address") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            portText = after.hasPrefix(":") ? after.dropFirst() : ""
        } else if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            host = rest
            portText = ""
        }
        guard !host.isEmpty else { throw ReplayError.badTarget(text, "no host") }
        let port = portText.isEmpty ? 80 : Int(portText) ?? -1
        guard (0...65_535).contains(port) else { throw ReplayError.badTarget(text, "bad port '\(portText)'") }
        self = .tcp(host: String(host), port: port)
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
        case .unix(let path): "unix://\(path)"
        }
    }

    /// The `Host` header for requests to this target.
    var hostHeader: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix: "localhost"
        }
    }
}

/// What can go wrong before or around a replay (per-request failures are counted, not thrown).
public enum ReplayError: Error, Equatable, CustomStringConvertible {
    case badTarget(String, String)
    case noPayloads([String])
    case unreadable(String, String)
    case badHeaders(String, String)
    case badOptions(String)

    public var description: String {
        switch self {
        case .badTarget(let text, let why): "bad target '\(text)': \(why)"
        case .noPayloads(let paths): "no captured requests under \(paths.joined(separator: ", "))"
        case .unreadable(let path, let why): "cannot read \(path): \(why)"
        case .badHeaders(let path, let why): "bad headers file \(path): \(why)"
        case .badOptions(let why): why
        }
    }
}
