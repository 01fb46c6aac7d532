import MessagePack
import TracePayload

/// V4-INTEGRATION — removed integrations.
///
/// Guide: "`google_generativeai` (move to `google_genai`), `aioredis`, `freezegun`, `opentracer`,
/// and `Pin` on `mongoengine` (use `pymongo`): from telemetry `integrations[]` with `enabled: true`,
/// and from span `meta.component` of those integrations." Spec revisions: `cassandra` is removed
/// too, and the packages of removed integrations in telemetry `app-dependencies-loaded` are
/// evidence at confidence medium when the integration is not seen enabled.
public enum V4IntegrationRule: CompatRule {
    public static let id: RuleID = "V4-INTEGRATION"
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "An integration that v4 removed is in use"
    public static let fix = "Move off the removed integration before v4 (see the replacement given for it)."
    public static let evidence = "telemetry app-integrations-change integrations[] enabled, span meta.component"
    public static let reads: Set<WireSource> = [.spans, .telemetry]
    public static let summaryDetail = SummaryDetail.names
    @inlinable public static var spanReads: SpanReads { [.component] }

    /// Spans of a removed integration (`meta.component`), per (service, operation, integration).
    @inlinable
    public static func judge<S: FindingSink>(_ facts: SpanFacts, into sink: inout S) {
        guard let integration = removedIntegration(component: facts.component) else { return }
        sink.record(id, kind: 1, operation: facts.name, resource: .empty, key: facts.component,
                    texts: { _ in FindingTexts(key: integration, kind: "span", fix: fix(for: integration)) },
                    sample: { SampleTexts() })
    }

    /// Removed integrations enabled in telemetry `integrations[]` (`kind: telemetry`), then the
    /// packages of removed integrations in `app-dependencies-loaded` (`kind: package`, medium)
    /// when the integration itself was not reported enabled in the same message (the high
    /// finding says it then). One finding per integration and message.
    public static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S) {
        var seen = Set<String>()
        for i in message.integrations where i.enabled {
            guard let removed = removedIntegration(telemetryName: i.name), seen.insert(removed).inserted else { continue }
            sink.recordMessage(id, FindingTexts(key: removed, kind: "telemetry", fix: fix(for: removed),
                                                evidence: "telemetry integration \(i.name) enabled" + (i.version.isEmpty ? "" : " (version \(i.version))")))
        }
        for d in message.dependencies {
            guard let removed = removedIntegration(package: d.name), seen.insert(removed).inserted else { continue }
            sink.recordMessage(id, FindingTexts(key: removed, kind: "package", confidence: .medium, fix: fix(for: removed),
                                                evidence: "telemetry app-dependencies-loaded: \(d.name)" + (d.version.isEmpty ? "" : " \(d.version)")))
        }
    }

    /// Removed integration → what to use instead.
    public static let replacements: [String: String] = [
        "google_generativeai": "use the google_genai integration (google-genai SDK)",
        "aioredis": "use redis-py's asyncio client (redis.asyncio), traced by the redis integration",
        "freezegun": "nothing to enable: v4 no longer needs the freezegun integration; remove it from DD_PATCH_MODULES/patch()",
        "opentracer": "use the OpenTelemetry API (DD_TRACE_OTEL_ENABLED=true) instead of OpenTracing",
        "mongoengine": "drop Pin on mongoengine: the pymongo integration traces it",
        // Not in the guide: v4.0.0's release note cassandra-d3c8aaf478bddc56 removes it.
        "cassandra": "nothing replaces it in ddtrace: keep cassandra-driver spans only by staying on v3 or tracing them manually",
    ]

    /// Installed packages (telemetry `app-dependencies-loaded`) that mean a removed integration is
    /// likely in use: evidence at confidence medium when the integration itself is not seen enabled.
    public static let packages: [String: String] = [
        "aioredis": "aioredis",
        "google-generativeai": "google_generativeai",
        "opentracing": "opentracer",
        "cassandra-driver": "cassandra",
    ]

    /// The removed integration an installed package points at, or nil (names compared as PyPI
    /// normalises them: lower case, `_` and `.` as `-`).
    public static func removedIntegration(package name: String) -> String? {
        let n = name.lowercased().replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: ".", with: "-")
        return packages[n]
    }

    /// The fix for one integration.
    public static func fix(for integration: String) -> String {
        "Integration \(integration) is removed in v4: " + (replacements[integration] ?? "see the v4 migration guide") + "."
    }

    /// The removed integration a span's `meta.component` names, or nil.
    @inlinable
    public static func removedIntegration(component: ByteView) -> String? {
        guard !component.isEmpty else { return nil }
        if component.equals("google_generativeai") { return "google_generativeai" }
        if component.equals("aioredis") { return "aioredis" }
        if component.equals("freezegun") { return "freezegun" }
        if component.equals("opentracer") || component.equals("opentracing") { return "opentracer" }
        if component.equals("mongoengine") { return "mongoengine" }
        if component.equals("cassandra") { return "cassandra" }
        return nil
    }

    /// The removed integration a telemetry integration name names, or nil.
    public static func removedIntegration(telemetryName name: String) -> String? {
        let n = name.lowercased()
        return replacements[n] != nil ? n : nil
    }
}

extension RuleID {
    /// V4-INTEGRATION (`V4IntegrationRule`).
    public static var integration: RuleID { V4IntegrationRule.id }
}
