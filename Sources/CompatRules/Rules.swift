import MessagePack
import TracePayload

/// The registry of rules: ONE line per rule in `visitAll`, in the order reports list them. The
/// analyzer asks exactly these, through the hook for each input it decoded (`CompatRule`); the
/// report's ids (`RuleID.allCases`, `RuleID.rule`) come from here too (`docs/rules.md`, "Adding a
/// rule").
public enum Rules {
    /// Hands every registered rule to `visitor`, in order: the list, written once. Inlined into
    /// each hook below with concrete rule types, so every call is specialised (no protocol
    /// witness, no dynamic dispatch per span; a rule's empty default hooks vanish; a parameter
    /// pack was measured to stay unspecialised across modules: 1.1–1.4× msgpack-c instead of
    /// 0.74–0.95×, Benchmarks/RESULTS.md "Analysis").
    @inlinable @inline(__always)
    public static func visitAll<V: RuleVisitor>(_ visitor: inout V, _ sink: inout V.Sink) {
        visitor.visit(V4TagReprRule.self, &sink)
        visitor.visit(V4TagNumericRule.self, &sink)
        visitor.visit(V4StructTagRule.self, &sink)
        visitor.visit(V4DjangoMinimalRule.self, &sink)
        visitor.visit(V4PythonRule.self, &sink)
        visitor.visit(V4PlatformRule.self, &sink)
        visitor.visit(V4AgentRule.self, &sink)
        visitor.visit(V4TracerRule.self, &sink)
        visitor.visit(V4ConfigRule.self, &sink)
        visitor.visit(V4IntegrationRule.self, &sink)
        visitor.visit(V4OpenAIStreamRule.self, &sink)
        visitor.visit(V4RemovedAPIRule.self, &sink)
        visitor.visit(V4CanaryDiffRule.self, &sink)
    }

    /// Every registered rule, in order. Immutable once made, and rules are stateless metatypes:
    /// safe to read from any thread.
    nonisolated(unsafe) public static let all: [any CompatRule.Type] = {
        var v = All(), none = NoSink()
        visitAll(&v, &none)
        return v.rules
    }()

    /// The ids of the registered rules, in order.
    public static let ids: [RuleID] = all.map { $0.id }

    /// Rule by id (`RuleID.rule`).
    nonisolated(unsafe) static let byID: [RuleID: any CompatRule.Type] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

    /// Rule id by its text (`RuleID(rawValue:)`).
    static let byName: [String: RuleID] = Dictionary(ids.map { ($0.rawValue, $0) }, uniquingKeysWith: { a, _ in a })

    /// Position in the registry (`RuleID`'s order).
    static let order: [RuleID: Int] = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })

    /// What the registered rules read on spans, together: what the analyzer's walk fills.
    @inlinable
    public static var spanReads: SpanReads {
        var v = Reads(), none = NoSink()
        visitAll(&v, &none)
        return v.reads
    }

    /// The rules judged on spans (a non-empty `spanReads`), in order.
    public static var spanRuleIDs: [RuleID] { all.filter { !$0.spanReads.isEmpty }.map { $0.id } }

    /// Asks every rule reading `.metaEntries` about one meta entry; flags go to `flagged`.
    @inlinable @inline(__always)
    public static func flagMeta(key: ByteView, value: ByteView, into flagged: inout [SpanFacts.FlaggedMeta]) {
        var v = FlagMeta(key: key, value: value)
        visitAll(&v, &flagged)
    }

    /// False when no rule reading `.metaEntries` could flag `value` (`CompatRule.mayFlag`), whatever its key.
    @inlinable @inline(__always)
    public static func mayFlagMeta(value: ByteView) -> Bool {
        var v = MayFlag(value: value), none = NoSink()
        visitAll(&v, &none)
        return v.may
    }

    /// The registered rules that want metrics key `key` (`CompatRule.wantsMetric`), one bit per
    /// rule at its place in the registry (`visitAll`'s order); 0 when none does. A function of
    /// the key alone: the analyzer keeps it per key and passes it to `judgeMetric`, which asks
    /// only those rules, so a rule's `judgeMetric` never tests its key again on every span (it
    /// did: V4-TAG-NUMERIC's tracer-key lists were run twice per user metric).
    @inlinable
    public static func metricRules(key: ByteView) -> UInt32 {
        var v = WantsMetric(key: key), none = NoSink()
        visitAll(&v, &none)
        return v.rules
    }

    @inlinable @inline(__always)
    public static func judge<S: FindingSink>(_ span: SpanFacts, into sink: inout S) {
        var v = Judge<S>(span: span)
        visitAll(&v, &sink)
    }

    /// Asks the rules of `rules` (`metricRules(key:)` of `key`) about one metrics entry.
    @inlinable @inline(__always)
    public static func judgeMetric<S: FindingSink>(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, rules: UInt32,
                                                   into sink: inout S) {
        var v = JudgeMetric<S>(key: key, number: number, span: span, rules: rules)
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

    /// Asks the rules reading `.requestHeaders` about a Python trace request's headers.
    public static func judgeHeaders<S: MessageSink>(_ headers: MetaHeaders, into sink: inout S) {
        var v = Message<S> { R, sink in if R.reads.contains(.requestHeaders) { R.judgeHeaders(headers, into: &sink) } }
        visitAll(&v, &sink)
    }

    /// Asks the rules reading `.telemetry` about one Python telemetry message.
    public static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S) {
        var v = Message<S> { R, sink in if R.reads.contains(.telemetry) { R.judgeTelemetry(message, into: &sink) } }
        visitAll(&v, &sink)
    }

    /// Asks the rules reading `.agentAnswers` about an agent version seen on an answer.
    public static func judgeAgent<S: MessageSink>(_ answer: AgentAnswer, into sink: inout S) {
        var v = Message<S> { R, sink in if R.reads.contains(.agentAnswers) { R.judgeAgent(answer, into: &sink) } }
        visitAll(&v, &sink)
    }

    /// Asks the rules reading `.llmObs` about an LLM Observability request's decoded body.
    public static func judgeLLMObs<S: MessageSink>(_ events: Any, into sink: inout S) {
        var v = Message<S> { R, sink in if R.reads.contains(.llmObs) { R.judgeLLMObs(events, into: &sink) } }
        visitAll(&v, &sink)
    }

    // MARK: - The hooks as visitors

    public struct NoSink { @inlinable public init() {} }

    struct All: RuleVisitor {
        var rules: [any CompatRule.Type] = []
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout NoSink) { rules.append(R.self) }
    }

    @usableFromInline struct Reads: RuleVisitor {
        @usableFromInline var reads = SpanReads()
        @inlinable init() {}
        @inlinable mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout NoSink) { reads.formUnion(R.spanReads) }
    }

    @usableFromInline struct FlagMeta: RuleVisitor {
        @usableFromInline let key: ByteView, value: ByteView
        @inlinable init(key: ByteView, value: ByteView) { self.key = key; self.value = value }
        @inlinable @inline(__always)
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ flagged: inout [SpanFacts.FlaggedMeta]) {
            guard R.spanReads.contains(.metaEntries), let code = R.flagMeta(key: key, value: value) else { return }
            flagged.append(SpanFacts.FlaggedMeta(rule: R.id, code: code, key: key, value: value))
        }
    }

    @usableFromInline struct MayFlag: RuleVisitor {
        @usableFromInline let value: ByteView
        @usableFromInline var may = false
        @inlinable init(value: ByteView) { self.value = value }
        @inlinable @inline(__always)
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout NoSink) {
            if !may && R.spanReads.contains(.metaEntries) && R.mayFlag(value: value) { may = true }
        }
    }

    @usableFromInline struct WantsMetric: RuleVisitor {
        @usableFromInline let key: ByteView
        @usableFromInline var rules: UInt32 = 0
        /// The visited rule's place in the registry (a constant once `visitAll` is inlined).
        @usableFromInline var place: UInt32 = 0
        @inlinable init(key: ByteView) { self.key = key }
        @inlinable @inline(__always)
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout NoSink) {
            if R.spanReads.contains(.metrics) && R.wantsMetric(key: key) { rules |= 1 << place }
            place += 1
        }
    }

    @usableFromInline struct Judge<S: FindingSink>: RuleVisitor {
        @usableFromInline let span: SpanFacts
        @inlinable init(span: SpanFacts) { self.span = span }
        @inlinable @inline(__always)
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout S) { R.judge(span, into: &sink) }
    }

    @usableFromInline struct JudgeMetric<S: FindingSink>: RuleVisitor {
        @usableFromInline let key: ByteView, number: SpanMetrics.Number, span: SpanFacts, rules: UInt32
        @usableFromInline var place: UInt32 = 0
        @inlinable init(key: ByteView, number: SpanMetrics.Number, span: SpanFacts, rules: UInt32) {
            self.key = key; self.number = number; self.span = span; self.rules = rules
        }
        @inlinable @inline(__always)
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout S) {
            if R.spanReads.contains(.metrics) && rules & (1 << place) != 0 { R.judgeMetric(key: key, number: number, span: span, into: &sink) }
            place += 1
        }
    }

    @usableFromInline struct JudgeStructTag<S: FindingSink>: RuleVisitor {
        @usableFromInline let key: ByteView, encoded: ByteView, span: SpanFacts
        @inlinable init(key: ByteView, encoded: ByteView, span: SpanFacts) { self.key = key; self.encoded = encoded; self.span = span }
        @inlinable @inline(__always)
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout S) {
            if R.spanReads.contains(.metaStruct) { R.judgeStructTag(key: key, encoded: encoded, span: span, into: &sink) }
        }
    }

    /// A message hook (one call per message: not specialised by hand, the rule's type is passed
    /// to the closure as a metatype).
    struct Message<S: MessageSink>: RuleVisitor {
        let ask: (any CompatRule.Type, inout S) -> Void
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout S) { ask(R.self, &sink) }
    }

    @usableFromInline struct TraceEnded<S: FindingSink>: RuleVisitor {
        @inlinable init() {}
        @inlinable @inline(__always)
        mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout S) { R.traceEnded(into: &sink) }
    }
}

/// One hook of the rules, applied to each registered rule by `Rules.visitAll`.
public protocol RuleVisitor {
    associatedtype Sink
    mutating func visit<R: CompatRule>(_ rule: R.Type, _ sink: inout Sink)
}
