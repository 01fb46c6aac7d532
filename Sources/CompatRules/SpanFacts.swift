import MessagePack
import TracePayload

/// One span as the span rules see it: its fields, and what the analyzer's one meta walk picked
/// out for them (`SpanReads`). Views into the payload: valid while the span is judged.
public struct SpanFacts {
    /// The span's fixed fields (its maps are walked by the analyzer, not kept here: the facts are
    /// passed to every rule, so they stay small).
    public var service: ByteView
    public var name: ByteView
    public var resource: ByteView
    public var type: ByteView
    public var spanID: UInt64
    public var parentID: UInt64
    public var error: Int32
    /// `meta.component` (read when a rule declares `.component`).
    public var component = ByteView.empty
    /// `meta["error.type"]`, `meta["error.message"]` (`.errorType`, `.errorMessage`).
    public var errorType = ByteView.empty
    public var errorMessage = ByteView.empty
    /// The OpenAI model (`.openAIModel`).
    public var model = ByteView.empty
    /// The meta entries rules flagged during the walk (`CompatRule.flagMeta`), in payload order: a
    /// view of the analyzer's buffer, so that the facts are plain bytes that every rule gets
    /// without a reference count.
    public var flagged = UnsafeBufferPointer<FlaggedMeta>(start: nil, count: 0)

    @inlinable
    public init(_ span: borrowing SpanView) {
        service = span.service; name = span.name; resource = span.resource; type = span.type
        spanID = span.spanID; parentID = span.parentID; error = span.error
    }

    /// A meta entry a rule flagged, with the rule's code for it.
    public struct FlaggedMeta {
        public var rule: RuleID
        public var code: UInt8
        public var key: ByteView
        public var value: ByteView
        public init(rule: RuleID, code: UInt8, key: ByteView, value: ByteView) {
            self.rule = rule; self.code = code; self.key = key; self.value = value
        }
    }
}
