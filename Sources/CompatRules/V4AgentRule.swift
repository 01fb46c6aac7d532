/// V4-AGENT — agent below 7.63.0.
///
/// Guide: "The `version` in the upstream agent's `/info` answer (the proxy can also ask `/info`
/// itself)."
public enum V4AgentRule: CompatRule {
    public static let id = RuleID.agent
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "Datadog Agent older than 7.63.0 (v4 needs 7.63.0 or later)"
    public static let fix = "Upgrade the Datadog Agent to 7.63.0 or later before moving services to dd-trace-py v4."
    public static let evidence = "version in the agent's GET /info answer"
    public static let reads: Set<WireSource> = [.agentAnswers]
    public static let summaryDetail = SummaryDetail.versions
    public static let minimum = DottedVersion([7, 63, 0])

    public static func isUnsupported(_ version: String) -> Bool {
        guard let v = DottedVersion(version) else { return false }
        return v < minimum
    }
}
