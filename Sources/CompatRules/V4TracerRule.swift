/// V4-TRACER — not yet on the last v3.
///
/// Guide: "`Datadog-Meta-Tracer-Version` below 3.19: the guide asks to move to 3.19 first and run
/// with `-W error::ddtrace.DDTraceDeprecationWarning`. Count services per tracer version."
public enum V4TracerRule: CompatRule {
    public static let id = RuleID.tracer
    public static let severity = Severity.check
    public static let confidence = Confidence.high
    public static let title = "dd-trace-py older than 3.19 (upgrade to the last v3 first)"
    public static let fix = "Upgrade to ddtrace 3.19 first and run the tests with -W error::ddtrace.DDTraceDeprecationWarning, then move to v4."
    public static let evidence = "Datadog-Meta-Tracer-Version header, telemetry application.tracer_version"
    public static let reads: Set<WireSource> = [.requestHeaders, .telemetry]
    public static let summaryDetail = SummaryDetail.versions
    public static let minimum = DottedVersion([3, 19])

    public static func isBehind(_ version: String) -> Bool {
        guard let v = DottedVersion(version) else { return false }
        return v < minimum
    }
}
