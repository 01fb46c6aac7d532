import MessagePack
import TracePayload

/// V4-TAG-NUMERIC — a number under a user key.
///
/// Guide: "`set_tag("retry.count", 3)` and `set_metric("retry.count", 3)` are identical on the wire
/// (measured). Report metrics under keys that neither ddtrace nor an integration writes … once per
/// key, as "verify it comes from set_metric", never per span."
public enum V4TagNumericRule: CompatRule {
    public static let id: RuleID = "V4-TAG-NUMERIC"
    public static let severity = Severity.check
    public static let confidence = Confidence.low
    public static let title = "A user metric: set_metric(key, n) or set_tag(key, n) — identical on the wire"
    public static let fix = "Verify this key is set with set_metric; if the code calls set_tag(key, number), switch to set_metric (v4's set_tag takes strings only)."
    public static let evidence = "span metrics key that neither ddtrace nor an integration writes"
    public static let reads: Set<WireSource> = [.spans]
    public static let summaryDetail = SummaryDetail.keys
    @inlinable public static var spanReads: SpanReads { [.metrics] }

    @inlinable
    public static func wantsMetric(key: ByteView) -> Bool { judge(key: key) }

    /// Once per (service, key): no operation or resource in the group, the samples name the spans.
    /// Asked only about keys `wantsMetric` accepted (user keys), so the key is not tested again.
    @inlinable
    public static func judgeMetric<S: FindingSink>(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, into sink: inout S) {
        sink.record(id, kind: 0, operation: .empty, resource: .empty, key: key,
                    texts: { _ in FindingTexts() },
                    sample: { SampleTexts(valueType: number.isInteger ? "int" : "float", excerpt: numberText(number.value),
                                          operation: span.name.string) })
    }

    /// A metric as the user would have written it: integers without ".0".
    public static func numberText(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    /// True when `key` is a metric the user's code set.
    @inlinable
    public static func judge(key: ByteView) -> Bool {
        !KnownTagKeys.isTracerWrittenMetric(key)
    }
}

extension RuleID {
    /// V4-TAG-NUMERIC (`V4TagNumericRule`).
    public static var tagNumeric: RuleID { V4TagNumericRule.id }
}
