import MessagePack
import TracePayload

/// The registry of span rules: ONE line per rule in `visitAll`. The analyzer asks exactly these,
/// in this order, on every span of a Python trace payload (`docs/rules.md`, "Adding a rule").
public enum SpanRules {
    /// Hands every registered span rule to `visitor`, in order: the list, written once. Inlined
    /// into each hook below with concrete rule types, so every call is specialised (no protocol
    /// witness, no dynamic dispatch per span; a parameter pack was measured to stay unspecialised
    /// across modules: 1.1–1.4× msgpack-c instead of 0.74–0.95×, Benchmarks/RESULTS.md "Analysis").
    @inlinable @inline(__always)
    public static func visitAll<V: SpanRuleVisitor>(_ visitor: inout V, _ sink: inout V.Sink) {
        visitor.visit(V4TagReprRule.self, &sink)
        visitor.visit(V4TagNumericRule.self, &sink)
        visitor.visit(V4StructTagRule.self, &sink)
        visitor.visit(V4DjangoMinimalRule.self, &sink)
        visitor.visit(V4IntegrationRule.self, &sink)
        visitor.visit(V4OpenAIStreamRule.self, &sink)
        visitor.visit(V4RemovedAPIRule.self, &sink)
    }

    /// The ids of the registered rules, in order.
    public static var ids: [RuleID] {
        var v = IDs(), none = NoSink()
        visitAll(&v, &none)
        return v.ids
    }

    /// What the registered rules read, together: what the analyzer's walk fills.
    @inlinable
    public static var reads: SpanReads {
        var v = Reads(), none = NoSink()
        visitAll(&v, &none)
        return v.reads
    }

    /// Asks every rule reading `.metaEntries` about one meta entry; flags go to `flagged`.
    @inlinable @inline(__always)
    public static func flagMeta(key: ByteView, value: ByteView, into flagged: inout [SpanFacts.FlaggedMeta]) {
        var v = FlagMeta(key: key, value: value)
        visitAll(&v, &flagged)
    }

    /// True when a registered rule wants metrics key `key`.
    @inlinable
    public static func wantsMetric(key: ByteView) -> Bool {
        var v = WantsMetric(key: key), none = NoSink()
        visitAll(&v, &none)
        return v.wanted
    }

    @inlinable @inline(__always)
    public static func judge<S: FindingSink>(_ span: SpanFacts, into sink: inout S) {
        var v = Judge<S>(span: span)
        visitAll(&v, &sink)
    }

    @inlinable @inline(__always)
    public static func judgeMetric<S: FindingSink>(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, into sink: inout S) {
        var v = JudgeMetric<S>(key: key, number: number, span: span)
        visitAll(&v, &sink)
    }

    @inlinable @inline(__always)
    public static func judgeStructTag<S: FindingSink>(key: ByteView, encoded: ByteView, span: SpanFacts, into sink: inout S) {
        var v = JudgeStructTag<S>(key: key, encoded: encoded, span: span)
        visitAll(&v, &sink)
    }

    @inlinable @inline(__always)
    public static func traceEnded<S: FindingSink>(into sink: inout S) {
        var v = TraceEnded<S>()
        visitAll(&v, &sink)
    }

    // MARK: - The hooks as visitors

    public struct NoSink { @inlinable public init() {} }

    struct IDs: SpanRuleVisitor {
        var ids: [RuleID] = []
        mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout NoSink) { ids.append(R.id) }
    }

    @usableFromInline struct Reads: SpanRuleVisitor {
        @usableFromInline var reads = SpanReads()
        @inlinable init() {}
        @inlinable mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout NoSink) { reads.formUnion(R.spanReads) }
    }

    @usableFromInline struct FlagMeta: SpanRuleVisitor {
        @usableFromInline let key: ByteView, value: ByteView
        @inlinable init(key: ByteView, value: ByteView) { self.key = key; self.value = value }
        @inlinable @inline(__always)
        mutating func visit<R: SpanRule>(_ rule: R.Type, _ flagged: inout [SpanFacts.FlaggedMeta]) {
            guard R.spanReads.contains(.metaEntries), let code = R.flagMeta(key: key, value: value) else { return }
            flagged.append(SpanFacts.FlaggedMeta(rule: R.id, code: code, key: key, value: value))
        }
    }

    @usableFromInline struct WantsMetric: SpanRuleVisitor {
        @usableFromInline let key: ByteView
        @usableFromInline var wanted = false
        @inlinable init(key: ByteView) { self.key = key }
        @inlinable @inline(__always)
        mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout NoSink) {
            if !wanted && R.spanReads.contains(.metrics) && R.wantsMetric(key: key) { wanted = true }
        }
    }

    @usableFromInline struct Judge<S: FindingSink>: SpanRuleVisitor {
        @usableFromInline let span: SpanFacts
        @inlinable init(span: SpanFacts) { self.span = span }
        @inlinable @inline(__always)
        mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout S) { R.judge(span, into: &sink) }
    }

    @usableFromInline struct JudgeMetric<S: FindingSink>: SpanRuleVisitor {
        @usableFromInline let key: ByteView, number: SpanMetrics.Number, span: SpanFacts
        @inlinable init(key: ByteView, number: SpanMetrics.Number, span: SpanFacts) { self.key = key; self.number = number; self.span = span }
        @inlinable @inline(__always)
        mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout S) {
            if R.spanReads.contains(.metrics) { R.judgeMetric(key: key, number: number, span: span, into: &sink) }
        }
    }

    @usableFromInline struct JudgeStructTag<S: FindingSink>: SpanRuleVisitor {
        @usableFromInline let key: ByteView, encoded: ByteView, span: SpanFacts
        @inlinable init(key: ByteView, encoded: ByteView, span: SpanFacts) { self.key = key; self.encoded = encoded; self.span = span }
        @inlinable @inline(__always)
        mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout S) {
            if R.spanReads.contains(.metaStruct) { R.judgeStructTag(key: key, encoded: encoded, span: span, into: &sink) }
        }
    }

    @usableFromInline struct TraceEnded<S: FindingSink>: SpanRuleVisitor {
        @inlinable init() {}
        @inlinable @inline(__always)
        mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout S) { R.traceEnded(into: &sink) }
    }
}

/// One hook of the span rules, applied to each registered rule by `SpanRules.visitAll`.
public protocol SpanRuleVisitor {
    associatedtype Sink
    mutating func visit<R: SpanRule>(_ rule: R.Type, _ sink: inout Sink)
}
