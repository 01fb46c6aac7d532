import CompatRules
import Foundation

/// The report document, schema `trace-compat/report/v1` (documented field by field in
/// `docs/report-schema.md`).
///
/// A report is data that merges exactly: counts add, first/last seen take the min/max, samples
/// fill up to the sample limit. Everything derived (shares, struct-tag visibility, the checklist,
/// the order of findings) is recomputed by `finalized()`, so merging two finalized reports and
/// finalizing again gives the same document as recording both inputs into one store.
public struct Report: Codable, Sendable, Equatable {
    public static let currentSchema = "trace-compat/report/v1"

    public var schema: String = Report.currentSchema
    public var generator: String = "trace-compat"
    /// First and last activity recorded (request received, or span start for offline audits).
    public var startedAt: ReportTime?
    public var updatedAt: ReportTime?
    public var options = Options()
    public var traffic = Traffic()
    /// Per service (the application's service: `_dd.base_service` when a span carries it).
    public var services: [String: ServiceSummary] = [:]
    /// Sorted: severity (breaks first), rule, count (largest first), then the grouping fields.
    public var findings: [Finding] = []
    /// Struct tags that ddtrace writes itself (AppSec, IAST, exploit prevention): not the user's.
    public var internalStructTags: [Finding] = []
    /// The whole migration checklist, including what only the code can answer.
    public var checklist: [ChecklistItem] = []
    /// V4-CANARY-DIFF: per application, its span profile per tracer major version and (derived)
    /// the comparison of 3.x and 4.x. Absent until a trace payload with a tracer version was seen.
    public var canary: [String: CanaryApp]?
    /// Where this report was made: host, trace-compat version, the proxy's listen address. Absent
    /// in reports written before it existed.
    public var provenance: Provenance?
    /// A merged report's inputs, one per input in the order given (absent when not merged).
    public var sources: [Source]?

    /// This build's version, written in every report's provenance.
    public static let generatorVersion = "0.13.0"

    public init() {}

    enum CodingKeys: String, CodingKey {
        case schema, generator, options, traffic, services, findings, checklist, canary, provenance, sources
        case startedAt = "started_at", updatedAt = "updated_at", internalStructTags = "internal_struct_tags"
    }

    /// Who made a report, where: enough to find the node again from a merged fleet report.
    public struct Provenance: Codable, Sendable, Equatable {
        /// `proxy`, `audit` or `merge`.
        public var command: String
        /// The host name of the machine (the node, in a Kubernetes DaemonSet: `gethostname`).
        public var host: String
        /// The trace-compat version (`Report.generatorVersion`).
        public var version: String
        /// The proxy's listen address (`127.0.0.1:8126`, `unix:/var/run/datadog/apm.socket`);
        /// absent for `audit` and `merge`.
        public var listen: String?

        public init(command: String, host: String = Provenance.hostName(), version: String = Report.generatorVersion, listen: String? = nil) {
            self.command = command; self.host = host; self.version = version; self.listen = listen
        }

        /// This machine's host name (`gethostname(2)`), "" when it has none.
        public static func hostName() -> String {
            var buffer = [CChar](repeating: 0, count: 256)
            guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// One input of a merged report: where it was read from and what it said about itself.
    public struct Source: Codable, Sendable, Equatable {
        /// The file path or URL as given to `report merge`.
        public var source: String
        /// The input's own provenance (absent when the input predates it).
        public var provenance: Provenance?
        /// The input's first and last activity (its `started_at`, `updated_at`).
        public var firstSeen: ReportTime?
        public var lastSeen: ReportTime?
        /// When the input was itself a merged report: its sources.
        public var sources: [Source]?

        public init(source: String, provenance: Provenance?, firstSeen: ReportTime?, lastSeen: ReportTime?, sources: [Source]? = nil) {
            self.source = source; self.provenance = provenance; self.firstSeen = firstSeen; self.lastSeen = lastSeen; self.sources = sources
        }

        enum CodingKeys: String, CodingKey {
            case source, provenance, sources
            case firstSeen = "first_seen", lastSeen = "last_seen"
        }
    }

    public struct Options: Codable, Sendable, Equatable {
        /// Samples kept per finding at most.
        public var sampleLimit: Int = 5
        /// True when samples carry no value excerpts.
        public var redacted: Bool = false
        public init(sampleLimit: Int = 5, redacted: Bool = false) {
            self.sampleLimit = sampleLimit
            self.redacted = redacted
        }
        enum CodingKeys: String, CodingKey { case sampleLimit = "sample_limit", redacted }
    }

    // MARK: - What the proxy's metrics read

    /// Total finding count per rule id (for the Prometheus `findings by rule` metric).
    public var findingCountsByRule: [String: Int] {
        var out: [String: Int] = [:]
        for f in findings { out[f.rule.rawValue, default: 0] += f.count }
        return out
    }

    /// Payloads that failed to decode so far.
    public var decodeErrorCount: Int { traffic.decodeErrors.count }
    /// Payloads forwarded without analysis (queue full).
    public var notAnalysedCount: Int { traffic.notAnalysed.values.reduce(0, +) }

    /// One sentence saying where the report comes from (and, merged, from which sources), for the
    /// rendered headers; nil when the report has no provenance.
    public var provenanceSummary: String? {
        guard let p = provenance else { return nil }
        let made = (p.command == "merge" ? "Merged" : "Made") + " by trace-compat \(p.version) (\(p.command)) on host `\(p.host)`"
            + (p.listen.map { ", listening on `\($0)`" } ?? "")
        guard let sources, !sources.isEmpty else { return made + "." }
        let list = sources.map { s in
            "`\(s.source)`" + (s.provenance.map { " (host `\($0.host)`)" } ?? "")
        }
        return made + ", from \(sources.count) report(s): " + list.joined(separator: ", ") + "."
    }

    /// The highest severity among the findings, nil when there are none.
    public var highestSeverity: Severity? { findings.map(\.severity).max() }

    /// Findings at or above `severity`.
    public func findings(atLeast severity: Severity) -> [Finding] { findings.filter { $0.severity >= severity } }
}

/// Traffic totals: what was seen, whether or not it led to findings.
public struct Traffic: Codable, Sendable, Equatable {
    /// Every request, by endpoint (path without query).
    public var requestsByEndpoint: [String: Int] = [:]
    /// Trace payloads decoded (python ones), by API version (`v0.4`, `v0.5`).
    public var tracePayloads: [String: Int] = [:]
    public var traces: Int = 0
    /// Spans judged by the rules (python traffic only).
    public var spans: Int = 0
    /// Requests of other languages (by `Datadog-Meta-Lang`): counted, not judged.
    public var otherLanguages: [String: Int] = [:]
    public var telemetryMessages: Int = 0
    /// Agent versions read from `/info` answers (count of answers).
    public var agentVersions: [String: Int] = [:]
    public var decodeErrors = DecodeErrors()
    /// Payloads forwarded without analysis, by endpoint: the analysis queue was full, or the
    /// format is one we do not decode (v0.7, v1.0: see `notAnalysedReasons`).
    public var notAnalysed: [String: Int] = [:]
    /// Why an endpoint's payloads are not analysed when it is not the queue (e.g. v0.7 traces).
    /// Absent when there is none (and in reports written before it existed).
    public var notAnalysedReasons: [String: String]?
    /// Proxy-side outcomes a user can act on, by kind then endpoint.
    public var proxyErrors: [String: [String: Int]] = [:]

    public init() {}

    enum CodingKeys: String, CodingKey {
        case traces, spans
        case requestsByEndpoint = "requests_by_endpoint", tracePayloads = "trace_payloads"
        case otherLanguages = "other_languages", telemetryMessages = "telemetry_messages"
        case agentVersions = "agent_versions", decodeErrors = "decode_errors", notAnalysed = "not_analysed"
        case notAnalysedReasons = "not_analysed_reasons"
        case proxyErrors = "proxy_errors"
    }

    public var requestCount: Int { requestsByEndpoint.values.reduce(0, +) }
    public var tracePayloadCount: Int { tracePayloads.values.reduce(0, +) }
    public var notAnalysedCount: Int { notAnalysed.values.reduce(0, +) }
}

/// Payloads that could not be decoded: how many, where, and the first few in full.
public struct DecodeErrors: Codable, Sendable, Equatable {
    public var count: Int = 0
    public var byEndpoint: [String: Int] = [:]
    /// The first `DecodeErrors.sampleLimit` errors.
    public var samples: [DecodeError] = []
    public static let sampleLimit = 20

    public init() {}

    enum CodingKeys: String, CodingKey { case count, samples, byEndpoint = "by_endpoint" }
}

public struct DecodeError: Codable, Sendable, Equatable {
    /// Where the payload came from: a file path, or "proxy".
    public var source: String
    public var endpoint: String
    public var reason: String
    /// Byte offset in the body where decoding stopped.
    public var offset: Int
    public var at: ReportTime

    public init(source: String, endpoint: String, reason: String, offset: Int, at: ReportTime) {
        self.source = source; self.endpoint = endpoint; self.reason = reason; self.offset = offset; self.at = at
    }
}

/// What was seen of one service.
public struct ServiceSummary: Codable, Sendable, Equatable {
    /// Spans of this application (including its database/cache spans under other service names).
    public var spans: Int = 0
    /// Tracer, Python and trace-API versions, by number of requests that showed them.
    public var tracerVersions: [String: Int] = [:]
    public var pythonVersions: [String: Int] = [:]
    public var apiVersions: [String: Int] = [:]
    /// `DD_TRACE_API_VERSION` as telemetry reported it (`v0.4`, `v0.5`); nil when it was not set
    /// (telemetry reports "" or null) or no telemetry came: the report never carries "".
    public var configuredAPIVersion: String?
    /// The `openai` package version from telemetry `app-dependencies-loaded` (V4-OPENAI-STREAM's
    /// confidence depends on it).
    public var openAIVersion: String?
    /// Derived: true when v0.4 traffic was seen, the only API that carries struct tags.
    public var structTagsVisible: Bool = false
    /// Derived: how to make struct tags visible when they are not.
    public var structTagsNote: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case spans
        case tracerVersions = "tracer_versions", pythonVersions = "python_versions", apiVersions = "api_versions"
        case configuredAPIVersion = "configured_api_version", structTagsVisible = "struct_tags_visible"
        case structTagsNote = "struct_tags_note", openAIVersion = "openai_version"
    }

    /// Adds `o` (same service) exactly.
    public mutating func merge(_ o: ServiceSummary) {
        spans += o.spans
        tracerVersions.add(o.tracerVersions)
        pythonVersions.add(o.pythonVersions)
        apiVersions.add(o.apiVersions)
        if let c = o.configuredAPIVersion, !c.isEmpty { configuredAPIVersion = c }
        if let v = o.openAIVersion { openAIVersion = v }
    }
}

/// One aggregated finding: a rule that fired on a (service, operation, resource, key, kind).
public struct Finding: Codable, Sendable, Equatable {
    public var rule: RuleID
    public var severity: Severity
    public var confidence: Confidence
    public var title: String
    public var service: String
    public var operation: String
    public var resource: String
    /// The tag key, setting or integration involved (see the schema per rule).
    public var key: String?
    /// V4-DJANGO-MINIMAL: database/cache/template; V4-TAG-REPR: the value's Python type; others: see the schema.
    public var kind: String?
    public var count: Int
    public var firstSeen: ReportTime
    public var lastSeen: ReportTime
    public var samples: [Sample]
    public var fix: String
    /// What was seen, in words (e.g. the setting and its origin).
    public var evidence: String?
    /// The application the finding belongs to (`_dd.base_service`, else the span's service; the
    /// telemetry's service for telemetry findings); V4-DJANGO-MINIMAL: how many spans had their
    /// driver twin span (data kept under v4), and (derived) their share of the application's spans.
    public var app: String?
    public var twinSeen: Int?
    public var share: Double?

    public init(rule: RuleID, severity: Severity? = nil, confidence: Confidence? = nil, title: String? = nil,
                service: String, operation: String = "", resource: String = "", key: String? = nil, kind: String? = nil,
                count: Int = 1, firstSeen: ReportTime, lastSeen: ReportTime? = nil, samples: [Sample] = [],
                fix: String? = nil, evidence: String? = nil, app: String? = nil, twinSeen: Int? = nil) {
        let r = rule.rule
        self.rule = rule
        self.severity = severity ?? r.severity
        self.confidence = confidence ?? r.confidence
        self.title = title ?? r.title
        self.service = service
        self.operation = operation
        self.resource = resource
        self.key = key
        self.kind = kind
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen ?? firstSeen
        self.samples = samples
        self.fix = fix ?? r.fix
        self.evidence = evidence
        self.app = app
        self.twinSeen = twinSeen
    }

    enum CodingKeys: String, CodingKey {
        case rule, severity, confidence, title, service, operation, resource, key, kind, count, samples, fix, evidence, app, share
        case firstSeen = "first_seen", lastSeen = "last_seen", twinSeen = "twin_seen"
    }

    /// The grouping identity: (rule, app, service, operation, resource, key, kind). The app is part
    /// of it so that two applications sharing a service name (`defaultdb`, `django`) never share a
    /// finding, nor its share of spans.
    public var groupKey: GroupKey {
        GroupKey(rule: rule, app: app ?? "", service: service, operation: operation, resource: resource, key: key ?? "", kind: kind ?? "")
    }

    public struct GroupKey: Hashable, Sendable {
        public var rule: RuleID
        public var app, service, operation, resource, key, kind: String
    }

    /// Adds `other` (same group) exactly.
    public mutating func absorb(_ other: Finding, sampleLimit: Int) {
        count += other.count
        firstSeen = min(firstSeen, other.firstSeen)
        lastSeen = max(lastSeen, other.lastSeen)
        confidence = max(confidence, other.confidence)
        severity = max(severity, other.severity)
        if let t = other.twinSeen { twinSeen = (twinSeen ?? 0) + t }
        if evidence == nil { evidence = other.evidence }
        for s in other.samples where samples.count < sampleLimit && !samples.contains(s) { samples.append(s) }
    }
}

/// One occurrence kept as evidence. Never a full value: the type and a short excerpt at most.
public struct Sample: Codable, Sendable, Equatable {
    /// Lower 64 bits of the trace id, in decimal (as the Datadog UI searches it); "" when not a span.
    public var traceID: String
    public var spanID: String
    /// The value's type (`list`, `bool`, `msgpack map`, …).
    public var valueType: String?
    /// At most `Sample.excerptLimit` characters of the value; absent when the report is redacted.
    public var excerpt: String?
    /// The operation name of the span, when the finding groups several (V4-TAG-NUMERIC).
    public var operation: String?

    public static let excerptLimit = ValueExcerpt.limit

    public init(traceID: String, spanID: String, valueType: String? = nil, excerpt: String? = nil, operation: String? = nil) {
        self.traceID = traceID
        self.spanID = spanID
        self.valueType = valueType
        self.excerpt = excerpt
        self.operation = operation
    }

    enum CodingKeys: String, CodingKey {
        case excerpt, operation
        case traceID = "trace_id", spanID = "span_id", valueType = "value_type"
    }

    /// A value cut to the excerpt limit (with an ellipsis when cut), control characters escaped.
    public static func excerpt(of value: String) -> String { ValueExcerpt.of(value) }
}

/// One line of the migration checklist.
public struct ChecklistItem: Codable, Sendable, Equatable {
    public enum Visibility: String, Codable, Sendable { case wire, code }
    public enum Status: String, Codable, Sendable {
        /// Findings exist.
        case found
        /// Observable in the traffic seen, and nothing was found.
        case notSeen = "not_seen"
        /// The traffic seen could not show it (e.g. no telemetry, only v0.5): see the advice.
        case notObservable = "not_observable"
        /// Never visible on the wire: check the code.
        case checkInCode = "check_in_code"
    }

    public var id: String
    public var title: String
    public var visibility: Visibility
    public var severity: Severity?
    public var status: Status
    public var findings: Int
    public var advice: String

    enum CodingKeys: String, CodingKey { case id, title, visibility, severity, status, findings, advice }
}

extension Dictionary where Value == Int {
    mutating func add(_ other: [Key: Int]) {
        for (k, v) in other { self[k, default: 0] += v }
    }
}
