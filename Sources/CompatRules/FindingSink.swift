import MessagePack

/// Where span rules record what they found: the analyzer's per-thread tables (tests: a recording
/// sink). The current span (its application, service, time, ids) is the sink's; a rule says what
/// groups the finding and gives its texts as closures, called only for a new group (`texts`) or a
/// kept sample (`sample`), so a repeated finding costs a lookup and no allocation. Rules judging
/// messages record into a `MessageSink`.
public protocol FindingSink {
    /// Counts one occurrence of `rule` on the current span, grouped by (rule, `kind`, app,
    /// service, `operation`, normalised `resource`, `key`). Returns the group's slot (for
    /// `addTwin`).
    @discardableResult
    mutating func record(_ rule: RuleID, kind: UInt8, operation: ByteView, resource: ByteView, key: ByteView,
                         texts: (FindingStrings) -> FindingTexts, sample: () -> SampleTexts) -> Int
    /// The same, into the report's separate internal list (never a finding; V4-STRUCT-TAG's
    /// ddtrace-written struct tags).
    mutating func recordInternal(_ rule: RuleID, kind: UInt8, operation: ByteView, key: ByteView,
                                 texts: (FindingStrings) -> FindingTexts, sample: () -> SampleTexts)
    /// Remembers something about the current span until its trace ends (`CompatRule.traceEnded`).
    mutating func note(_ note: TraceNote)
    /// What was noted in the trace that just ended.
    var traceNotes: [TraceNote] { get }
    /// Counts, in group `slot`, one span whose driver twin was seen (V4-DJANGO-MINIMAL's `twin_seen`).
    mutating func addTwin(toGroup slot: Int)
}
