import MessagePack
import TracePayload

/// A rule judged on every span of a Python trace payload: one file per rule declares what it
/// reads (`spanReads`), judges, and carries its texts (`CompatRule`); the analyzer walks each span
/// once, fills the facts the registered rules asked for (`SpanFacts`) and asks each rule in
/// `SpanRules`, the registry.
///
/// Every hook is generic over the sink and has an empty default, so that the registry's calls are
/// specialised and inlined: a rule costs nothing on spans it has nothing to say about, and a span
/// without findings allocates nothing (the texts and samples are closures the sink calls only for
/// a new finding group or a kept sample).
public protocol SpanRule: CompatRule {
    /// The meta values and maps the rule reads; the analyzer's one walk fills them.
    static var spanReads: SpanReads { get }
    /// Called during the meta walk for every entry (rules reading `.metaEntries`): a code the
    /// rule chooses for an entry it wants to judge once the span is read, or nil. The span's
    /// application is not known yet here (`_dd.base_service` may come later in the map).
    static func flagMeta(key: ByteView, value: ByteView) -> UInt8?
    /// Judges the span once its meta was read (its flagged entries are in `span.flagged`).
    static func judge<S: FindingSink>(_ span: SpanFacts, into sink: inout S)
    /// Whether the rule judges metrics key `key` (rules reading `.metrics`): a function of the
    /// key alone, which the analyzer caches per key, so that `judgeMetric` is called only for
    /// the keys some rule wants.
    static func wantsMetric(key: ByteView) -> Bool
    /// Judges one wanted `metrics` entry, in the analyzer's one metrics walk.
    static func judgeMetric<S: FindingSink>(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, into sink: inout S)
    /// Judges one `meta_struct` entry (rules reading `.metaStruct`; v0.4 only).
    static func judgeStructTag<S: FindingSink>(key: ByteView, encoded: ByteView, span: SpanFacts, into sink: inout S)
    /// Called when a trace's last span was judged: for rules that relate spans of one trace
    /// (what they noted with `FindingSink.note` is in `sink.traceNotes`).
    static func traceEnded<S: FindingSink>(into sink: inout S)
}

extension SpanRule {
    @inlinable public static func flagMeta(key: ByteView, value: ByteView) -> UInt8? { nil }
    @inlinable public static func judge<S: FindingSink>(_ span: SpanFacts, into sink: inout S) {}
    @inlinable public static func wantsMetric(key: ByteView) -> Bool { false }
    @inlinable public static func judgeMetric<S: FindingSink>(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, into sink: inout S) {}
    @inlinable public static func judgeStructTag<S: FindingSink>(key: ByteView, encoded: ByteView, span: SpanFacts, into sink: inout S) {}
    @inlinable public static func traceEnded<S: FindingSink>(into sink: inout S) {}
}
