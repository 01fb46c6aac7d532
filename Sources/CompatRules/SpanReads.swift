/// What a span rule reads beyond the span's fixed fields (service, name, resource, type, ids,
/// error): the meta values the analyzer's one meta walk picks out for `SpanFacts`, and the maps it
/// hands over entry by entry. The analyzer reads the union of what the registered rules declare.
public struct SpanReads: OptionSet, Sendable {
    public let rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `meta.component` (`SpanFacts.component`).
    @inlinable public static var component: SpanReads { SpanReads(rawValue: 1 << 0) }
    /// `meta["error.type"]` (`SpanFacts.errorType`).
    @inlinable public static var errorType: SpanReads { SpanReads(rawValue: 1 << 1) }
    /// `meta["error.message"]` (`SpanFacts.errorMessage`).
    @inlinable public static var errorMessage: SpanReads { SpanReads(rawValue: 1 << 2) }
    /// `meta["openai.request.model"]`, else `meta["openai.response.model"]` (`SpanFacts.model`).
    @inlinable public static var openAIModel: SpanReads { SpanReads(rawValue: 1 << 3) }
    /// Every meta entry (`CompatRule.flagMeta`).
    @inlinable public static var metaEntries: SpanReads { SpanReads(rawValue: 1 << 4) }
    /// Every metrics entry (`CompatRule.judgeMetric`).
    @inlinable public static var metrics: SpanReads { SpanReads(rawValue: 1 << 5) }
    /// Every `meta_struct` entry (`CompatRule.judgeStructTag`).
    @inlinable public static var metaStruct: SpanReads { SpanReads(rawValue: 1 << 6) }
}
