import MessagePack
import TracePayload

/// A v4 rule: one file per rule declares its identity and texts, what it reads on the wire, and
/// judges what it reads into a sink (`FindingSink` for spans, `MessageSink` for messages). The
/// analyzer decodes each input once and asks every rule of the registry (`Rules`, one line per
/// rule) through the hook for that input:
///
/// - spans of Python trace payloads: `spanReads` says which facts the analyzer's one walk per span
///   fills (`SpanFacts`), then `flagMeta`, `judgeMetric`, `judgeStructTag`, `judge` and
///   `traceEnded`;
/// - the request's `Datadog-Meta-*` headers: `judgeHeaders` (`MetaHeaders`);
/// - instrumentation telemetry: `judgeTelemetry` (`TelemetryMessage`);
/// - the agent's answers, `GET /info` and the `Datadog-Agent-Version` header: `judgeAgent`
///   (`AgentAnswer`);
/// - LLM Observability events: `judgeLLMObs`.
///
/// `reads` declares the wire sources: a message hook is asked only when `reads` names its source,
/// and the report's checklist says "not observable" for a rule when none of them was seen.
///
/// Every hook is generic over the sink and has an empty default, so that the registry's calls are
/// specialised and inlined: a rule costs nothing on inputs it does not read, and a span without
/// findings allocates nothing (the span hooks' texts and samples are closures the sink calls only
/// for a new finding group or a kept sample). Rules are stateless; aggregation lives in the sink
/// and in `CompatReport`, which reads these declarations instead of switching on rule ids.
public protocol CompatRule {
    /// The stable id reports and `--fail-on` use, declared by the rule (`"V4-…"`).
    static var id: RuleID { get }
    static var severity: Severity { get }
    /// The usual confidence; a rule may give another one per finding (`FindingTexts.confidence`).
    static var confidence: Confidence { get }
    /// One line: what was seen.
    static var title: String { get }
    /// One sentence: what to do.
    static var fix: String { get }
    /// Where it shows on the wire (for the report's checklist).
    static var evidence: String { get }
    /// What it reads: which message hooks are asked, and the checklist's "not observable" when
    /// none of it was seen.
    static var reads: Set<WireSource> { get }
    /// How the CLI's summary details its findings.
    static var summaryDetail: SummaryDetail { get }

    // MARK: Spans

    /// The meta values and maps the rule reads on each span; the analyzer's one walk fills them.
    static var spanReads: SpanReads { get }
    /// Called during the meta walk for every entry (rules reading `.metaEntries`): a code the
    /// rule chooses for an entry it wants to judge once the span is read, or nil. The span's
    /// application is not known yet here (`_dd.base_service` may come later in the map).
    static func flagMeta(key: ByteView, value: ByteView) -> UInt8?
    /// A cheap test of a meta value alone, inlined in the walk: false when `flagMeta` would
    /// return nil for this value whatever its key, so that the walk asks `flagMeta` (out of line)
    /// only for values that pass. The default lets every value through.
    static func mayFlag(value: ByteView) -> Bool
    /// Judges the span once its meta was read (its flagged entries are in `span.flagged`).
    static func judge<S: FindingSink>(_ span: SpanFacts, into sink: inout S)
    /// Whether the rule judges metrics key `key` (rules reading `.metrics`): a function of the
    /// key alone, which the analyzer caches per key, so that `judgeMetric` is called only for
    /// the keys some rule wants.
    static func wantsMetric(key: ByteView) -> Bool
    /// Judges one `metrics` entry whose key this rule's `wantsMetric` accepted (the analyzer asks
    /// a rule only about those: `Rules.metricRules`), in the analyzer's one metrics walk.
    static func judgeMetric<S: FindingSink>(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, into sink: inout S)
    /// Judges one `meta_struct` entry (rules reading `.metaStruct`; v0.4 only).
    static func judgeStructTag<S: FindingSink>(key: ByteView, encoded: ByteView, span: SpanFacts, into sink: inout S)
    /// Called when a trace's last span was judged: for rules that relate spans of one trace
    /// (what they noted with `FindingSink.note` is in `sink.traceNotes`).
    static func traceEnded<S: FindingSink>(into sink: inout S)

    // MARK: Messages (recorded with `MessageSink.recordMessage`)

    /// Judges the `Datadog-Meta-*` headers of a Python trace request (`reads` has
    /// `.requestHeaders`). A function of the headers alone: the analyzer asks once per distinct
    /// pair of values and counts what was recorded for every app of every payload sent with them.
    static func judgeHeaders<S: MessageSink>(_ headers: MetaHeaders, into sink: inout S)
    /// Judges one Python telemetry message (`reads` has `.telemetry`); its findings belong to the
    /// message's service.
    static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S)
    /// Judges an agent's answer (`reads` has `.agentAnswers`).
    static func judgeAgent<S: MessageSink>(_ answer: AgentAnswer, into sink: inout S)
    /// Judges the decoded JSON body of an LLM Observability request (`reads` has `.llmObs`).
    static func judgeLLMObs<S: MessageSink>(_ events: Any, into sink: inout S)
}

extension CompatRule {
    @inlinable public static var spanReads: SpanReads { [] }
    @inlinable public static func flagMeta(key: ByteView, value: ByteView) -> UInt8? { nil }
    @inlinable public static func mayFlag(value: ByteView) -> Bool { true }
    @inlinable public static func judge<S: FindingSink>(_ span: SpanFacts, into sink: inout S) {}
    @inlinable public static func wantsMetric(key: ByteView) -> Bool { false }
    @inlinable public static func judgeMetric<S: FindingSink>(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, into sink: inout S) {}
    @inlinable public static func judgeStructTag<S: FindingSink>(key: ByteView, encoded: ByteView, span: SpanFacts, into sink: inout S) {}
    @inlinable public static func traceEnded<S: FindingSink>(into sink: inout S) {}
    public static func judgeHeaders<S: MessageSink>(_ headers: MetaHeaders, into sink: inout S) {}
    public static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S) {}
    public static func judgeAgent<S: MessageSink>(_ answer: AgentAnswer, into sink: inout S) {}
    public static func judgeLLMObs<S: MessageSink>(_ events: Any, into sink: inout S) {}
}
