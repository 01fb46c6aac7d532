import Foundation

/// One request as the agent received it (or as captured on disk): what the analyzer judges.
///
/// The proxy builds one per request it tees to analysis; `trace-compat audit` builds one per
/// captured file (`*.headers.json` + body).
public struct CapturedRequest: Sendable {
    public var method: String
    /// Path with query, e.g. `/v0.4/traces`.
    public var path: String
    /// Header names as received (compare case-insensitively), in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var receivedAt: Date
    /// Where it came from, for error messages (a file path, or "proxy").
    public var source: String

    public init(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8], receivedAt: Date = Date(), source: String = "proxy") {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
        self.source = source
    }

    /// First value of a header, case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
}
