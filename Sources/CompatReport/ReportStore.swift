import Foundation

/// The live report: thread-safe aggregation that analysis threads record into and that the
/// admin routes, the periodic flush and `audit` read snapshots of.
/// INTERFACE STUB (issue 3 fills it in; issue 4 codes against it).
public final class ReportStore: @unchecked Sendable {
    private let lock = NSLock()

    public init() {}

    /// Continues from an existing report (proxy restart); counts add on.
    public init(continuing report: Report) {}

    /// Counts one request by endpoint (normalised path).
    public func countRequest(endpoint: String) {}

    /// Counts a payload that the bounded analysis queue had no room for (forwarded, not analysed).
    public func countNotAnalysed(endpoint: String) {}

    /// Counts a proxy-side outcome a user can act on: "upstream_unreachable" (502),
    /// "upstream_timeout" (504), "payload_too_large" (413), "client_aborted", ...
    public func countProxyError(_ kind: String, endpoint: String) {}

    /// A consistent copy of everything so far.
    public func snapshot() -> Report { Report() }
}

/// The report document (schema `trace-compat/report/v1`). INTERFACE STUB.
public struct Report: Codable, Sendable {
    public var schema: String = "trace-compat/report/v1"
    public init() {}

    /// Total finding count per rule id (for the Prometheus `findings by rule` metric).
    public var findingCountsByRule: [String: Int] { [:] }
    /// Payloads that failed to decode so far.
    public var decodeErrorCount: Int { 0 }
    /// Payloads forwarded without analysis (queue full).
    public var notAnalysedCount: Int { 0 }
}

/// Rendering and persistence. INTERFACE STUB.
public enum ReportRenderer {
    public static func json(_ report: Report) -> [UInt8] { Array(#"{"schema":"trace-compat/report/v1"}"#.utf8) }
    public static func markdown(_ report: Report) -> String { "# trace-compat report\n" }
    public static func html(_ report: Report) -> String { "<!doctype html><title>trace-compat report</title>" }
}

public enum ReportFile {
    /// Writes `report.json` atomically (temp file + rename) at `path`, with `.md` and `.html` beside it.
    public static func write(_ report: Report, to path: String) throws {}
    /// Reads a report written by `write`; nil when the file does not exist.
    public static func read(from path: String) throws -> Report? { nil }
}
