import MessagePack
import TracePayload

/// V4-TAG-REPR — a tag set with a non-string value.
///
/// Guide: "v4 types `Span.set_tag(key, value: Optional[str])` … v3 sends every other value as
/// `str(value)` in **meta** … On the wire: a meta value that is exactly `True`, `False`, `None`
/// (medium: a user may send the literal word), or that parses as a Python list/dict/tuple/set/bytes
/// literal, or matches `<... object at 0x...>` (high). Skip keys that ddtrace itself writes."
///
/// `<Obj>`-style custom reprs (a capitalised name in angle brackets) are reported with medium
/// confidence: see `PythonRepr.angle`.
public enum V4TagReprRule: CompatRule {
    public static let id: RuleID = "V4-TAG-REPR"
    public static let severity = Severity.check
    public static let confidence = Confidence.high
    public static let title = "A tag was set with a non-string value (its Python str() reached the agent)"
    public static let fix = "Pass a string to set_tag/set_tags (e.g. str(x) or json.dumps(x) on purpose), or a number to set_metric: v4's set_tag takes str (or None), not lists, dicts, tuples, sets, bytes or objects."
    public static let evidence = "span meta value that reads True/False/None, a Python list/dict/tuple/set/bytes repr, or <… object at 0x…>"
    public static let reads: Set<WireSource> = [.spans]
    public static let summaryDetail = SummaryDetail.keys
    @inlinable public static var spanReads: SpanReads { [.metaEntries] }

    /// Judged during the meta walk; recorded in `judge` once the span's application is known.
    /// The code is the value's kind (high bits) and the match's confidence (low two bits). The
    /// first and last bytes are tested inline (most values stop there); the recogniser and the
    /// key's skip list are one call (`flagCandidate`), so that the meta walk, run for every entry
    /// of every span, stays small in the instruction cache (Benchmarks/RESULTS.md "Instruction
    /// cache").
    @inlinable @inline(__always)
    public static func flagMeta(key: ByteView, value: ByteView) -> UInt8? {
        guard PythonRepr.isCandidate(value) else { return nil }
        return flagCandidate(key: key, value: value)
    }

    /// Only a value whose first and last bytes make a repr possible (`PythonRepr.isCandidate`).
    @inlinable @inline(__always)
    public static func mayFlag(value: ByteView) -> Bool { PythonRepr.isCandidate(value) }

    /// `flagMeta` for a value that passed `PythonRepr.isCandidate` (out of line).
    @inline(never)
    public static func flagCandidate(key: ByteView, value: ByteView) -> UInt8? {
        guard let match = judge(key: key, value: value) else { return nil }
        return match.kind.code << 2 | match.confidence.code
    }

    /// One finding per (service, operation, resource, key, value kind), the value's excerpt in the
    /// samples. The test for flagged entries inlined, their records not: asked on every span, it
    /// finds some on few (and the rule's id, a lazily made global, is read only then).
    @inlinable @inline(__always)
    public static func judge<S: FindingSink>(_ span: SpanFacts, into sink: inout S) {
        if !span.flagged.isEmpty { judgeFlagged(span, into: &sink) }
    }

    /// `judge` of a span with flagged entries (out of line).
    @inlinable @inline(never)
    static func judgeFlagged<S: FindingSink>(_ span: SpanFacts, into sink: inout S) {
        let me = id
        for f in span.flagged where f.rule == me {
            let kind = PythonRepr.Kind(code: f.code >> 2)
            let confidence = Confidence(code: f.code & 3)
            sink.record(me, kind: f.code >> 2, operation: span.name, resource: span.resource, key: f.key,
                        texts: { _ in FindingTexts(kind: kind.rawValue, confidence: confidence, fix: fix(for: kind)) },
                        sample: { SampleTexts(valueType: kind.rawValue, excerpt: f.value.string) })
        }
    }

    /// The fix for a value of `kind`. `None` is its own case: v4's `set_tag(key, value:
    /// Optional[str])` accepts `None`, so the general fix ("v4 types the value as str") would
    /// contradict itself there; what changes is that the tag no longer reads `"None"`.
    public static func fix(for kind: PythonRepr.Kind) -> String {
        switch kind {
        case .none:
            "v4 still accepts None (set_tag's value is Optional[str]) but no longer sends the text \"None\": if a monitor or query matches on it, set the string you want explicitly (set_tag(key, \"None\") or a real value)."
        case .bool:
            "Pass a string to set_tag (str(flag), or \"true\"/\"false\" on purpose) or a number to set_metric: v4's set_tag takes str (or None), not bool."
        default:
            fix
        }
    }

    /// The finding for one meta entry, or nil. Cheap for ordinary values: one byte test, then a
    /// parse that fails within a few bytes; the key's skip list is consulted only on a match.
    @inlinable @inline(__always)
    public static func judge(key: ByteView, value: ByteView) -> PythonRepr.Match? {
        guard PythonRepr.isCandidate(value) else { return nil }
        guard let match = PythonRepr.classify(value) else { return nil }
        if KnownTagKeys.isTracerWrittenMeta(key) { return nil }
        return match
    }
}

extension RuleID {
    /// V4-TAG-REPR (`V4TagReprRule`).
    public static var tagRepr: RuleID { V4TagReprRule.id }
}
