import MessagePack

/// What a caller reads of each `meta` and `metrics` entry while the decoder validates it: the
/// decoder's check of a span's maps and the caller's walk of them become one pass over the bytes.
///
/// An analysis reads every entry of every span (the canary profile hashes every key, V4-TAG-REPR
/// looks at every value); walking the maps again after the decoder had checked them read each
/// string's header twice, a sixth of a Django span's analysis (Benchmarks/RESULTS.md, "Django
/// payloads at half the cost").
///
/// The entries of a span are handed over as the decoder reads them, before the rest of the span
/// is checked: when a later field of the span turns out bad, the visit ends with that error and
/// the entries seen since the last visited span belong to no span (the caller drops them). The
/// span closure gets the visitor back (`TracePayloadDecoder.visit(_:format:entries:_:)`), so it
/// reads what the visitor gathered for that span.
///
/// v0.5 entries come with their string-table indices as well (`metaIndexed`, `metricIndexed`):
/// the same string is one index in every span of a payload, so what a caller works out about a
/// key can be kept per index for the payload.
public protocol SpanEntryVisitor {
    /// False for a visitor that reads nothing: the decoder then only checks the maps, as fast as
    /// it can skip them.
    static var readsEntries: Bool { get }
    /// One v0.4 `meta` entry (views into the payload).
    mutating func meta(key: ByteView, value: ByteView)
    /// One v0.5 `meta` entry: the indices are inside `table`.
    mutating func metaIndexed(key: Int, value: Int, table: UnsafeBufferPointer<ByteView>)
    /// One v0.4 `metrics` entry.
    mutating func metric(key: ByteView, number: SpanMetrics.Number)
    /// One v0.5 `metrics` entry: the key's index is inside `table`.
    mutating func metricIndexed(key: Int, number: SpanMetrics.Number, table: UnsafeBufferPointer<ByteView>)
}

extension SpanEntryVisitor {
    @inlinable public static var readsEntries: Bool { true }
    @inlinable @inline(__always)
    public mutating func metaIndexed(key: Int, value: Int, table: UnsafeBufferPointer<ByteView>) {
        meta(key: table[key], value: table[value])
    }
    @inlinable @inline(__always)
    public mutating func metricIndexed(key: Int, number: SpanMetrics.Number, table: UnsafeBufferPointer<ByteView>) {
        metric(key: table[key], number: number)
    }
}

/// The visitor of callers that read the maps later, if at all (`SpanTags.forEach`).
public struct NoSpanEntries: SpanEntryVisitor {
    @inlinable public init() {}
    @inlinable public static var readsEntries: Bool { false }
    @inlinable public mutating func meta(key: ByteView, value: ByteView) {}
    @inlinable public mutating func metric(key: ByteView, number: SpanMetrics.Number) {}
}
