/// V4-TRACER — not yet on the last v3.
///
/// Guide: "`Datadog-Meta-Tracer-Version` below 3.19: the guide asks to move to 3.19 first and run
/// with `-W error::ddtrace.DDTraceDeprecationWarning`. Count services per tracer version."
public enum V4TracerRule: CompatRule {
    public static let id: RuleID = "V4-TRACER"
    public static let severity = Severity.check
    public static let confidence = Confidence.high
    public static let title = "dd-trace-py older than 3.19 (upgrade to the last v3 first)"
    public static let fix = "Upgrade to ddtrace 3.19 first and run the tests with -W error::ddtrace.DDTraceDeprecationWarning, then move to v4."
    public static let evidence = "Datadog-Meta-Tracer-Version header, telemetry application.tracer_version"
    public static let reads: Set<WireSource> = [.requestHeaders, .telemetry]
    public static let summaryDetail = SummaryDetail.versions
    public static let minimum = DottedVersion([3, 19])

    /// `Datadog-Meta-Tracer-Version` below 3.19 (`kind` = the version).
    public static func judgeHeaders<S: MessageSink>(_ headers: MetaHeaders, into sink: inout S) {
        let v = headers.tracerVersion
        guard isBehind(v) else { return }
        sink.recordMessage(id, FindingTexts(kind: v, evidence: "Datadog-Meta-Tracer-Version: \(v)"))
    }

    /// Telemetry `application.tracer_version` below 3.19.
    public static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S) {
        let v = message.application.tracerVersion
        guard isBehind(v) else { return }
        sink.recordMessage(id, FindingTexts(kind: v, evidence: "telemetry application.tracer_version \(v)"))
    }

    /// True when `version` is below 3.19. Unparseable text is not judged.
    public static func isBehind(_ version: String) -> Bool {
        guard let v = DottedVersion(version) else { return false }
        return v < minimum
    }
}

extension RuleID {
    /// V4-TRACER (`V4TracerRule`).
    public static var tracer: RuleID { V4TracerRule.id }
}
