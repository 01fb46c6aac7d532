/// V4-AGENT — agent below 7.63.0.
///
/// Guide: "The `version` in the upstream agent's `/info` answer (the proxy can also ask `/info`
/// itself)."
public enum V4AgentRule: CompatRule {
    public static let id: RuleID = "V4-AGENT"
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "Datadog Agent older than 7.63.0 (v4 needs 7.63.0 or later)"
    public static let fix = "Upgrade the Datadog Agent to 7.63.0 or later before moving services to dd-trace-py v4."
    public static let evidence = "version in the agent's GET /info answer, Datadog-Agent-Version answer header"
    public static let reads: Set<WireSource> = [.agentAnswers]
    public static let summaryDetail = SummaryDetail.versions
    public static let minimum = DottedVersion([7, 63, 0])

    /// An agent version below 7.63.0, from `GET /info` or the `Datadog-Agent-Version` header
    /// (`key` = "version", `kind` = the version; the sink puts it under the agent, no app).
    public static func judgeAgent<S: MessageSink>(_ answer: AgentAnswer, into sink: inout S) {
        let v = answer.version
        guard isUnsupported(v) else { return }
        let evidence = switch answer.source {
        case .info: "GET /info answered version \(v)"
        case .header: "Datadog-Agent-Version: \(v) on the agent's answers"
        }
        sink.recordMessage(id, FindingTexts(key: "version", kind: v, evidence: evidence))
    }

    /// True when `version` is below 7.63.0. Unparseable text is not judged.
    public static func isUnsupported(_ version: String) -> Bool {
        guard let v = DottedVersion(version) else { return false }
        return v < minimum
    }
}

extension RuleID {
    /// V4-AGENT (`V4AgentRule`).
    public static var agent: RuleID { V4AgentRule.id }
}
