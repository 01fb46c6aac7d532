import MessagePack
import TracePayload

/// V4-OPENAI-STREAM — streamed OpenAI calls.
///
/// Guide: "v4 stops counting streamed tokens with tiktoken: code must pass
/// `stream_options={"include_usage": True}` … APM spans (`openai.request`, resource
/// `createChatCompletion`, `meta.component = openai`) carry neither token metrics nor a stream flag;
/// with LLM Observability on, `POST /evp_proxy/v2/api/v2/llmobs` … carries spans whose
/// `meta.metadata` has `stream: true` … Report the services and models with streamed calls (or, APM
/// only, with OpenAI spans) as "check that streamed calls pass include_usage", once per service and
/// model."
public enum V4OpenAIStreamRule: CompatRule {
    public static let id: RuleID = "V4-OPENAI-STREAM"
    public static let severity = Severity.check
    public static let confidence = Confidence.low
    public static let title = "OpenAI calls: v4 no longer estimates streamed token counts"
    public static let fix = "Pass stream_options={\"include_usage\": True} on every streamed OpenAI call so token usage comes from the API."
    public static let evidence = "APM spans with component openai; LLM Observability spans with meta.metadata.stream true"
    public static let reads: Set<WireSource> = [.spans, .telemetry, .llmObs]
    public static let summaryDetail = SummaryDetail.services
    @inlinable public static var spanReads: SpanReads { [.component, .openAIModel] }

    /// OpenAI APM spans, once per (service, model). The test inlined, the record not: asked on
    /// every span, it finds one on few.
    @inlinable @inline(__always)
    public static func judge<S: FindingSink>(_ facts: SpanFacts, into sink: inout S) {
        if isOpenAISpan(component: facts.component) { record(facts, into: &sink) }
    }

    @inlinable @inline(never)
    static func record<S: FindingSink>(_ facts: SpanFacts, into sink: inout S) {
        sink.record(id, kind: 0, operation: .empty, resource: .empty, key: facts.model,
                    texts: { s in FindingTexts(key: s.key.isEmpty ? nil : s.key, kind: "apm",
                                               evidence: "OpenAI APM spans (the wire cannot show whether calls stream)") },
                    sample: { SampleTexts(operation: facts.name.string) })
    }

    /// LLM Observability spans with `meta.metadata.stream` true, per (service or `ml_app`, model)
    /// (`kind: llmobs`; the finding's service is the event's).
    public static func judgeLLMObs<S: MessageSink>(_ events: Any, into sink: inout S) {
        for call in streamedCalls(inLLMObsBody: events) {
            sink.recordMessage(id, service: call.service,
                               texts: FindingTexts(key: call.model.isEmpty ? nil : call.model, kind: "llmobs",
                                                   evidence: "LLM Observability span with metadata.stream = true"))
        }
    }

    /// The first `openai` release for which ddtrace sets `stream_options.include_usage` itself on
    /// chat-completion streams (spec revision "Installed packages").
    public static let selfIncludingUsage = DottedVersion([1, 26, 0])

    /// The finding's confidence given the installed `openai` version (telemetry
    /// `app-dependencies-loaded`): low from 1.26 (ddtrace adds include_usage itself), medium below
    /// it or when the version is unknown.
    public static func confidence(openAIVersion: String?) -> Confidence {
        guard let text = openAIVersion, let v = DottedVersion(text) else { return .medium }
        return v < selfIncludingUsage ? .medium : .low
    }

    /// The LLM Observability intake path (through the agent's EVP proxy).
    public static let llmobsPath = "/evp_proxy/v2/api/v2/llmobs"

    /// True for an OpenAI APM span (`meta.component = openai`).
    @inlinable
    public static func isOpenAISpan(component: ByteView) -> Bool {
        component.equals("openai")
    }

    /// A streamed call seen in LLM Observability events: (service or ml_app, model) pairs.
    /// `events` is the decoded JSON body of a POST to `llmobsPath` (an array of events or one event).
    public static func streamedCalls(inLLMObsBody events: Any) -> [(service: String, model: String)] {
        var out: [(String, String)] = []
        func visit(_ node: Any, service: String?, depth: Int) {
            guard depth < 16 else { return }
            if let array = node as? [Any] {
                for item in array { visit(item, service: service, depth: depth + 1) }
                return
            }
            guard let dict = node as? [String: Any] else { return }
            let svc = (dict["service"] as? String) ?? (dict["ml_app"] as? String) ?? service
            if let meta = dict["meta"] as? [String: Any], let metadata = meta["metadata"] as? [String: Any],
               JSONField.bool(metadata["stream"]) == true {
                let model = (meta["model_name"] as? String) ?? (dict["model_name"] as? String)
                    ?? (metadata["model"] as? String) ?? ((dict["tags"] as? [String])?.first { $0.hasPrefix("model_name:") }.map { String($0.dropFirst(11)) }) ?? ""
                out.append((svc ?? "", model))
            }
            for (key, value) in dict where key == "spans" || key == "events" || key == "payload" {
                visit(value, service: svc, depth: depth + 1)
            }
        }
        visit(events, service: nil, depth: 0)
        return out
    }
}

extension RuleID {
    /// V4-OPENAI-STREAM (`V4OpenAIStreamRule`).
    public static var openAIStream: RuleID { V4OpenAIStreamRule.id }
}
