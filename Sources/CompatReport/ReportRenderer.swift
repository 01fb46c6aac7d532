import CompatRules
import Foundation

/// Renders a report as JSON (the schema), Markdown (for a person who never heard of the tool) and a
/// self-contained HTML page, all from the same finalized data.
public enum ReportRenderer {
    /// The JSON document: pretty-printed, keys sorted, so that two runs diff cleanly.
    public static func json(_ report: Report) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain structs of strings and numbers cannot fail; NaN never enters a report.
        let data = (try? encoder.encode(report)) ?? Data(#"{"schema":"trace-compat/report/v1"}"#.utf8)
        return Array(data) + [0x0a]
    }

    /// Reads a JSON report back (the schema version must be v1).
    public static func decode(json bytes: [UInt8]) throws -> Report {
        let report = try JSONDecoder().decode(Report.self, from: Data(bytes))
        guard report.schema == Report.currentSchema else {
            throw ReportFileError.unsupportedSchema(report.schema)
        }
        return report
    }

    public static func markdown(_ report: Report) -> String {
        MarkdownReport(report: report).render()
    }

    public static func html(_ report: Report) -> String {
        HTMLReport(report: report).render()
    }
}

public enum ReportFileError: Error, CustomStringConvertible {
    case unsupportedSchema(String)
    public var description: String {
        switch self {
        case .unsupportedSchema(let s): "unsupported report schema \"\(s)\" (this build reads \(Report.currentSchema))"
        }
    }
}

/// Shared wording of the renderers.
enum Wording {
    static func severityHeading(_ s: Severity) -> String {
        switch s {
        case .breaks: "What breaks under v4"
        case .changes: "What v4 changes by default"
        case .check: "Worth a check"
        }
    }

    static func severityExplanation(_ s: Severity) -> String {
        switch s {
        case .breaks: "Code fails or data is lost after the upgrade unless you act first."
        case .changes: "v4 behaves differently by default: decide whether you want the old behaviour back."
        case .check: "Possibly fine, possibly a bug: look at the code that produces it."
        }
    }

    static func statusText(_ s: ChecklistItem.Status) -> String {
        switch s {
        case .found: "FOUND"
        case .notSeen: "not seen"
        case .notObservable: "not visible in this traffic"
        case .checkInCode: "check in code"
        }
    }

    static func counts(_ d: [String: Int]) -> String {
        d.isEmpty ? "—" : d.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    }

    /// Counts of requests by version: "3.19.9 (8 requests)".
    static func requests(_ d: [String: Int]) -> String {
        d.isEmpty ? "—" : d.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) \($0.value == 1 ? "request" : "requests"))" }.joined(separator: ", ")
    }

    /// `DD_TRACE_API_VERSION` as telemetry reported it, the same words for every application:
    /// the report carries it only when it was set (an older report's "" reads as not set).
    static func configuredAPI(_ s: ServiceSummary) -> String {
        switch s.configuredAPIVersion {
        case nil, ""?: "not set (ddtrace's default)"
        case let v?: v
        }
    }

    /// Why findings name an application where ddtrace's spans name many services.
    static let applicationsNote = "Findings and this table name the application: the `_dd.base_service` tag a span carries (ddtrace sets it when an integration gives a span its own service, such as `defaultdb` for the database), else the span's service. Spans count every span of the application, its database and cache spans included; the version columns count requests (trace payloads and telemetry messages), not spans."

    /// V4-DJANGO-MINIMAL per kind: spans, share of the application's spans, whether a driver span
    /// keeps the data under v4.
    struct DjangoKind {
        let kind: V4DjangoMinimalRule.Kind
        let spans: Int
        let share: Double
        let twinText: String
    }

    static func djangoKinds(_ group: [Finding], _ report: Report) -> [DjangoKind] {
        V4DjangoMinimalRule.Kind.allCases.compactMap { kind in
            let fs = group.filter { $0.kind == kind.rawValue }
            guard !fs.isEmpty else { return nil }
            let n = fs.reduce(0) { $0 + $1.count }
            let appSpans = Set(fs.map { $0.app ?? $0.service }).reduce(0) { $0 + (report.services[$1]?.spans ?? 0) }
            let twins = fs.compactMap(\.twinSeen).reduce(0, +)
            let twinText = kind == .database
                ? "\(twins) of \(n)" + (twins == n ? " (timings kept by the driver spans)" : " (the rest is lost)")
                : "no twin: lost"
            return DjangoKind(kind: kind, spans: n, share: appSpans > 0 ? Double(n) / Double(appSpans) : 0, twinText: twinText)
        }
    }

    static func percent(_ x: Double) -> String {
        String(format: "%.1f%%", x * 100)
    }

    /// The subject of a finding in a few words: the tag key, setting, or operation.
    static func whereText(_ f: Finding) -> String {
        if f.operation.isEmpty {
            let ops = NSOrderedSetLike(f.samples.compactMap(\.operation))
            if !ops.isEmpty { return "on " + ops.prefix(3).joined(separator: ", ") + (ops.count > 3 ? ", …" : "") }
        }
        var parts: [String] = []
        if !f.operation.isEmpty { parts.append(f.operation) }
        if !f.resource.isEmpty && f.resource != f.operation { parts.append(oneLine(f.resource, limit: 60)) }
        return parts.joined(separator: " · ")
    }

    static func oneLine(_ s: String, limit: Int) -> String {
        let flat = s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }

    static func detail(_ f: Finding) -> String {
        var parts: [String] = []
        if let k = f.kind, !k.isEmpty {
            switch f.rule {
            case .tagRepr: parts.append("value type \(k)")
            case .python, .tracer, .agent: parts.append("version \(k)")
            default: parts.append(k)
            }
        }
        if f.rule == .djangoMinimal, let t = f.twinSeen {
            parts.append(t == f.count ? "driver twin span seen (query still traced)"
                         : t == 0 ? "no driver twin span: lost under v4" : "driver twin span for \(t) of \(f.count)")
        }
        if let s = f.share { parts.append("\(percent(s)) of \(f.app ?? f.service)'s spans") }
        if let e = f.evidence { parts.append(e) }
        return parts.joined(separator: "; ")
    }

    static func example(_ f: Finding) -> String {
        guard let s = f.samples.first else { return "" }
        if let e = s.excerpt { return e }
        let trace = s.traceID.isEmpty ? "" : "trace \(s.traceID)"
        if let t = s.valueType, f.rule != .tagRepr { return trace.isEmpty ? t : "\(t), \(trace)" }
        return trace
    }
}
