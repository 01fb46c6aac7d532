/// Where rules record what they found in a message judged as a whole: a trace request's
/// `Datadog-Meta-*` headers, a telemetry message, an agent's answer, an LLM Observability request
/// (`CompatRule.judgeHeaders`, `judgeTelemetry`, `judgeAgent`, `judgeLLMObs`). The message (its
/// application, service, time) is the sink's. At most a few findings per message, so the texts
/// come whole, not as closures.
public protocol MessageSink {
    /// Counts one finding about the current message, grouped by (rule, app, service,
    /// `texts.key`, `texts.kind`). `service` names the finding's own service when the message
    /// carries one per finding (LLM Observability events; it is the finding's app too); nil: the
    /// message's.
    mutating func recordMessage(_ rule: RuleID, service: String?, texts: FindingTexts)
}

extension MessageSink {
    /// A finding about the current message, in the message's service.
    public mutating func recordMessage(_ rule: RuleID, _ texts: FindingTexts) {
        recordMessage(rule, service: nil, texts: texts)
    }
}
