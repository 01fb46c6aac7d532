import MessagePack

/// V4-INTEGRATION — removed integrations.
///
/// Guide: "`google_generativeai` (move to `google_genai`), `aioredis`, `freezegun`, `opentracer`,
/// and `Pin` on `mongoengine` (use `pymongo`): from telemetry `integrations[]` with `enabled: true`,
/// and from span `meta.component` of those integrations."
public enum V4IntegrationRule: CompatRule {
    public static let id = RuleID.integration
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "An integration that v4 removed is in use"
    public static let fix = "Move off the removed integration before v4 (see the replacement given for it)."
    public static let evidence = "telemetry app-integrations-change integrations[] enabled, span meta.component"

    /// Removed integration → what to use instead.
    public static let replacements: [String: String] = [
        "google_generativeai": "use the google_genai integration (google-genai SDK)",
        "aioredis": "use redis-py's asyncio client (redis.asyncio), traced by the redis integration",
        "freezegun": "nothing to enable: v4 no longer needs the freezegun integration; remove it from DD_PATCH_MODULES/patch()",
        "opentracer": "use the OpenTelemetry API (DD_TRACE_OTEL_ENABLED=true) instead of OpenTracing",
        "mongoengine": "drop Pin on mongoengine: the pymongo integration traces it",
    ]

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
        return nil
    }

    /// The removed integration a telemetry integration name names, or nil.
    public static func removedIntegration(telemetryName name: String) -> String? {
        let n = name.lowercased()
        return replacements[n] != nil ? n : nil
    }
}
