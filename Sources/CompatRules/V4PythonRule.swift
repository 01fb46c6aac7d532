/// V4-PYTHON — Python below 3.9.
///
/// Guide: "`Datadog-Meta-Lang-Version` < 3.9 on a python request, or telemetry
/// `application.language_version`."
public enum V4PythonRule: CompatRule {
    public static let id: RuleID = "V4-PYTHON"
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "Python older than 3.9 (v4 does not install there)"
    public static let fix = "Upgrade the service to Python 3.9 or later before moving to dd-trace-py v4."
    public static let evidence = "Datadog-Meta-Lang-Version header, telemetry application.language_version"
    public static let reads: Set<WireSource> = [.requestHeaders, .telemetry]
    public static let summaryDetail = SummaryDetail.versions
    public static let minimum = DottedVersion([3, 9])

    /// `Datadog-Meta-Lang-Version` below 3.9 (`kind` = the version).
    public static func judgeHeaders<S: MessageSink>(_ headers: MetaHeaders, into sink: inout S) {
        let v = headers.langVersion
        guard isUnsupported(v) else { return }
        sink.recordMessage(id, FindingTexts(kind: v, evidence: "Datadog-Meta-Lang-Version: \(v)"))
    }

    /// Telemetry `application.language_version` below 3.9.
    public static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S) {
        let v = message.application.languageVersion
        guard isUnsupported(v) else { return }
        sink.recordMessage(id, FindingTexts(kind: v, evidence: "telemetry application.language_version \(v)"))
    }

    /// True when `version` (e.g. "3.8.18") is below 3.9. Unparseable text is not judged.
    public static func isUnsupported(_ version: String) -> Bool {
        guard let v = DottedVersion(version) else { return false }
        return v < minimum
    }
}

extension RuleID {
    /// V4-PYTHON (`V4PythonRule`).
    public static var python: RuleID { V4PythonRule.id }
}
