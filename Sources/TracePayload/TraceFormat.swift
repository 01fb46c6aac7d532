/// The trace intake formats a Python tracer sends, and which endpoint carries which.
///
/// - v0.4 (`/v0.4/traces`): an array of traces; a trace is an array of span maps.
/// - v0.5 (`/v0.5/traces`): `[string table, traces]`; a span is a 12-element array whose strings are
///   indexes into the table.
public enum TraceFormat: String, Sendable, CaseIterable, Codable {
    case v04 = "v0.4"
    case v05 = "v0.5"

    /// The format of a request path (`/v0.4/traces`, `/v0.5/traces`), or nil for any other endpoint.
    /// v0.3 shares v0.4's layout and is decoded as v0.4.
    public init?(path: some StringProtocol) {
        var p = Substring(path)
        if let q = p.firstIndex(of: "?") { p = p[..<q] }
        while p.hasSuffix("/") { p = p.dropLast() }
        switch p {
        case "/v0.4/traces", "/v0.3/traces": self = .v04
        case "/v0.5/traces": self = .v05
        default: return nil
        }
    }

    /// The format a captured file's name implies (`…v0.4_traces.msgpack`, `…v0.5…`).
    public init?(fileName: some StringProtocol) {
        if fileName.contains("v0.5") { self = .v05 } else if fileName.contains("v0.4") || fileName.contains("v0.3") { self = .v04 } else { return nil }
    }
}
