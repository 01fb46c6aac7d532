import MessagePack

/// What a decoded payload held.
public struct PayloadSummary: Equatable, Sendable {
    public var traces: Int = 0
    public var spans: Int = 0
    public init(traces: Int = 0, spans: Int = 0) { self.traces = traces; self.spans = spans }
}

/// Decodes v0.4 and v0.5 trace payloads span by span, without copying.
///
/// As tolerant as the Datadog Agent's decoder where tracers differ (ids of any int width, float or
/// int where a number is expected, nil for an empty string or map, bin where a str is expected) and
/// strict elsewhere: a wrong type, a bad string index, a truncated value or trailing bytes reject the
/// payload with the byte offset. Each span is checked whole before it is handed to the visitor, so a
/// visitor never sees half a span; spans visited before an error stay visited.
///
/// Reuse one decoder per thread: the v0.5 string table keeps its storage between payloads, so
/// decoding allocates nothing per span and, once warm, nothing per payload.
public struct TracePayloadDecoder {
    public var limits: MessagePackLimits
    @usableFromInline var stringTable: [ByteView] = []

    public init(limits: MessagePackLimits = .default) {
        self.limits = limits
    }

    /// Visits every span of `bytes` in `format`. The views handed to `visit` borrow `bytes`.
    @inlinable
    public mutating func visit(
        _ bytes: UnsafeRawBufferPointer,
        format: TraceFormat,
        _ visit: (borrowing SpanView) throws -> Void
    ) throws -> PayloadSummary {
        var none = NoSpanEntries()
        return try self.visit(bytes, format: format, entries: &none) { span, _ in try visit(span) }
    }

    /// Visits every span of `bytes` in `format`, handing each `meta` and `metrics` entry to
    /// `entries` as it is checked (one pass over the maps, `SpanEntryVisitor`), then the span
    /// to `visit` with the visitor.
    @inlinable
    public mutating func visit<E: SpanEntryVisitor>(
        _ bytes: UnsafeRawBufferPointer,
        format: TraceFormat,
        entries: inout E,
        _ visit: (borrowing SpanView, inout E) throws -> Void
    ) throws -> PayloadSummary {
        switch format {
        case .v04: return try visitV04(bytes, &entries, visit)
        case .v05: return try visitV05(bytes, &entries, visit)
        }
    }

    // MARK: v0.4

    @inlinable
    mutating func visitV04<E: SpanEntryVisitor>(_ bytes: UnsafeRawBufferPointer, _ entries: inout E,
                                                _ visit: (borrowing SpanView, inout E) throws -> Void) throws -> PayloadSummary {
        var reader = MessagePackReader(bytes: bytes, limits: limits)
        var summary = PayloadSummary()
        let traceCount = try reader.readArrayHeader()
        var span = SpanView()
        for t in 0..<traceCount {
            let spanCount = try reader.readArrayHeader()
            for _ in 0..<spanCount {
                span = SpanView()
                span.traceIndex = t
                span.spanIndex = summary.spans
                try Self.readSpanV04(&reader, into: &span, entries: &entries)
                try visit(span, &entries)
                summary.spans += 1
            }
            summary.traces += 1
        }
        if !reader.isAtEnd { throw MessagePackError(.trailingBytes(count: reader.remaining), at: reader.offset) }
        return summary
    }

    /// Reads one v0.4 span map (depth 2 in the payload). Unknown keys are skipped.
    @inlinable
    static func readSpanV04<E: SpanEntryVisitor>(_ reader: inout MessagePackReader, into span: inout SpanView,
                                                 entries: inout E) throws(MessagePackError) {
        let fieldCount = try reader.readMapHeader()
        // The fast key path loads 16 bytes and leaves out the per-string length limit check (keys
        // are at most 11 bytes): it runs for keys that start at or before `fastKeyEnd`.
        let fastKeyEnd = reader.limits.maxByteLength >= 16 ? reader.bytes.count &- 16 : -1
        for _ in 0..<fieldCount {
            // Known keys written as fixstr: recognised from two 8-byte loads, inline (as a function,
            // the compiler would not inline it).
            var key = SpanKeyV04.unknown
            let at = reader.offset
            if at <= fastKeyEnd {
                let w0 = UInt64(littleEndian: reader.bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                let w1 = UInt64(littleEndian: reader.bytes.loadUnaligned(fromByteOffset: at &+ 8, as: UInt64.self))
                // The header byte is part of w0, so one compare checks type, length and bytes at
                // once. The constants are the loads of the header byte and the key, zero-padded.
                let header = UInt8(truncatingIfNeeded: w0)
                switch header {
                case 0xa4:
                    switch w0 & 0xff_ffff_ffff {
                    case 0x0000_0065_6d61_6ea4: key = .name
                    case 0x0000_0061_7465_6da4: key = .meta
                    case 0x0000_0065_7079_74a4: key = .type
                    default: break
                    }
                case 0xa5:
                    switch w0 & 0xffff_ffff_ffff {
                    case 0x0000_7472_6174_73a5: key = .start
                    case 0x0000_726f_7272_65a5: key = .error
                    default: break
                    }
                case 0xa7:
                    switch w0 {
                    case 0x6563_6976_7265_73a7: key = .service
                    case 0x6469_5f6e_6170_73a7: key = .spanID
                    case 0x7363_6972_7465_6da7: key = .metrics
                    default: break
                    }
                case 0xa8:
                    switch (w0, w1 & 0xff) {
                    case (0x6372_756f_7365_72a8, 0x65): key = .resource
                    case (0x695f_6563_6172_74a8, 0x64): key = .traceID
                    case (0x6f69_7461_7275_64a8, 0x6e): key = .duration
                    default: break
                    }
                case 0xa9:
                    if w0 == 0x5f74_6e65_7261_70a9 && w1 & 0xffff == 0x6469 { key = .parentID }
                case 0xaa:
                    if w0 == 0x696c_5f6e_6170_73aa && w1 & 0xff_ffff == 0x73_6b6e { key = .spanLinks }
                case 0xab:
                    switch (w0, w1 & 0xffff_ffff) {
                    case (0x7473_5f61_7465_6dab, 0x7463_7572): key = .metaStruct
                    case (0x7665_5f6e_6170_73ab, 0x7374_6e65): key = .spanEvents
                    default: break
                    }
                default:
                    break
                }
                if key != .unknown { reader.offset = at &+ 1 &+ Int(w0 & 0x1f) } else { key = try readKeySlow(&reader) }
            } else {
                key = try readKeySlow(&reader)
            }
            switch key {
            case .service: span.service = try reader.readStringLike(); span.fields.insert(.service)
            case .name: span.name = try reader.readStringLike(); span.fields.insert(.name)
            case .resource: span.resource = try reader.readStringLike(); span.fields.insert(.resource)
            case .traceID: span.traceID = try readID(&reader); span.fields.insert(.traceID)
            case .spanID: span.spanID = try readID(&reader); span.fields.insert(.spanID)
            case .parentID: span.parentID = try readID(&reader); span.fields.insert(.parentID)
            case .start: span.start = try readInt(&reader); span.fields.insert(.start)
            case .duration: span.duration = try readInt(&reader); span.fields.insert(.duration)
            case .error: span.error = Int32(truncatingIfNeeded: try readInt(&reader)); span.fields.insert(.error)
            case .meta: span.meta = try readTagsV04(&reader, &entries); span.fields.insert(.meta)
            case .metrics: span.metrics = try readMetricsV04(&reader, &entries); span.fields.insert(.metrics)
            case .metaStruct: span.metaStruct = try readMetaStruct(&reader); span.fields.insert(.metaStruct)
            case .type: span.type = try reader.readStringLike(); span.fields.insert(.type)
            case .spanLinks: span.spanLinks = try readArrayRaw(&reader); span.fields.insert(.spanLinks)
            case .spanEvents: span.spanEvents = try readArrayRaw(&reader); span.fields.insert(.spanEvents)
            case .unknown: try reader.skipValue(depth: 3)
            }
        }
    }

    /// Any key (str, bin or nil as in `readStringLike`), matched by its bytes.
    @usableFromInline
    static func readKeySlow(_ reader: inout MessagePackReader) throws(MessagePackError) -> SpanKeyV04 {
        let key = try reader.readStringLike()
        switch key.count {
        case 4:
            if key.equals("name") { return .name }
            if key.equals("meta") { return .meta }
            if key.equals("type") { return .type }
        case 5:
            if key.equals("start") { return .start }
            if key.equals("error") { return .error }
        case 7:
            if key.equals("service") { return .service }
            if key.equals("span_id") { return .spanID }
            if key.equals("metrics") { return .metrics }
        case 8:
            if key.equals("resource") { return .resource }
            if key.equals("trace_id") { return .traceID }
            if key.equals("duration") { return .duration }
        case 9:
            if key.equals("parent_id") { return .parentID }
        case 10:
            if key.equals("span_links") { return .spanLinks }
        case 11:
            if key.equals("meta_struct") { return .metaStruct }
            if key.equals("span_events") { return .spanEvents }
        default:
            break
        }
        return .unknown
    }

    /// An id: any integer width (negative values as their two's complement, as Go's decoder
    /// does), a float, or nil for 0. uint64 and positive fixint are read inline.
    @inlinable @inline(__always)
    static func readID(_ reader: inout MessagePackReader) throws(MessagePackError) -> UInt64 {
        let at = reader.offset
        if at &+ 9 <= reader.bytes.count {
            let b = reader.bytes.load(fromByteOffset: at, as: UInt8.self)
            if b == 0xcf {
                reader.offset = at &+ 9
                return UInt64(bigEndian: reader.bytes.loadUnaligned(fromByteOffset: at &+ 1, as: UInt64.self))
            }
            if b < 0x80 { reader.offset = at &+ 1; return UInt64(b) }
        }
        return try readIDSlow(&reader)
    }

    @usableFromInline
    static func readIDSlow(_ reader: inout MessagePackReader) throws(MessagePackError) -> UInt64 {
        let b = try reader.peekByte()
        switch b {
        case 0xc0: reader.offset += 1; return 0
        case 0xca, 0xcb:
            let start = reader.offset
            let d = try reader.readDouble()
            guard d >= 0, d < 18446744073709551616.0 else { throw MessagePackError(.integerOverflow, at: start) }
            return UInt64(d)
        default:
            return try reader.readIntegerBits().bits
        }
    }

    /// A signed integer field (start, duration, error): any int width, a float, or nil for 0.
    /// Positive fixint, uint8 to uint64, int32 and int64 are read inline.
    @inlinable @inline(__always)
    static func readInt(_ reader: inout MessagePackReader) throws(MessagePackError) -> Int64 {
        let at = reader.offset
        if at &+ 9 <= reader.bytes.count {
            let b = reader.bytes.load(fromByteOffset: at, as: UInt8.self)
            switch b {
            case 0x00...0x7f:
                reader.offset = at &+ 1
                return Int64(b)
            case 0xcc:
                reader.offset = at &+ 2
                return Int64(reader.bytes.load(fromByteOffset: at &+ 1, as: UInt8.self))
            case 0xcd:
                reader.offset = at &+ 3
                return Int64(UInt16(bigEndian: reader.bytes.loadUnaligned(fromByteOffset: at &+ 1, as: UInt16.self)))
            case 0xce:
                reader.offset = at &+ 5
                return Int64(UInt32(bigEndian: reader.bytes.loadUnaligned(fromByteOffset: at &+ 1, as: UInt32.self)))
            case 0xcf, 0xd3:  // uint64, int64 (dd-trace-py writes start as int64)
                reader.offset = at &+ 9
                return Int64(bitPattern: UInt64(bigEndian: reader.bytes.loadUnaligned(fromByteOffset: at &+ 1, as: UInt64.self)))
            case 0xd2:
                reader.offset = at &+ 5
                return Int64(Int32(bitPattern: UInt32(bigEndian: reader.bytes.loadUnaligned(fromByteOffset: at &+ 1, as: UInt32.self))))
            default:
                break
            }
        }
        return try readIntSlow(&reader)
    }

    @usableFromInline
    static func readIntSlow(_ reader: inout MessagePackReader) throws(MessagePackError) -> Int64 {
        let b = try reader.peekByte()
        switch b {
        case 0xc0: reader.offset += 1; return 0
        case 0xca, 0xcb:
            let start = reader.offset
            let d = try reader.readDouble()
            guard d > -9223372036854775808.0, d < 9223372036854775808.0 else { throw MessagePackError(.integerOverflow, at: start) }
            return Int64(d)
        default:
            return Int64(bitPattern: try reader.readIntegerBits().bits)
        }
    }

    /// A metric value: any number (`readNumberAsDouble`), or nil, which the Agent reads as 0
    /// (`parseFloat64Bytes` in pkg/trace/pb/decoder_bytes.go). float64 and positive fixint inline.
    @inlinable @inline(__always)
    static func skipMetricValue(_ reader: inout MessagePackReader) throws(MessagePackError) {
        let at = reader.offset
        if at &+ 9 <= reader.bytes.count {
            let b = reader.bytes.load(fromByteOffset: at, as: UInt8.self)
            if b == 0xcb { reader.offset = at &+ 9; return }
            if b < 0x80 { reader.offset = at &+ 1; return }
        }
        try skipMetricValueSlow(&reader)
    }

    @usableFromInline
    static func skipMetricValueSlow(_ reader: inout MessagePackReader) throws(MessagePackError) {
        if try reader.readNil() { return }
        _ = try reader.readNumberAsDouble()
    }

    /// A v0.4 `meta` map: checked, and each entry handed to `entries` (when it reads them).
    @inlinable
    static func readTagsV04<E: SpanEntryVisitor>(_ reader: inout MessagePackReader, _ entries: inout E) throws(MessagePackError) -> SpanTags {
        let count = try reader.readMapHeaderOrNil()
        let start = reader.offset
        if E.readsEntries {
            var left = count
            // As `MessagePackReader.skipStringLikes`: fixstr and str8 keys and values with one
            // comparison against the end each, while a byte follows the value and no such
            // string can exceed the length limit; anything else through the checked reads.
            if left > 0, reader.limits.maxByteLength >= 255, let base = reader.bytes.baseAddress {
                let end = reader.bytes.count
                var at = reader.offset
                repeat {
                    guard let (key, keyLength) = shortString(base, at, end) else { break }
                    let v = key &+ keyLength
                    guard v < end, let (value, valueLength) = shortString(base, v, end) else { break }
                    let next = value &+ valueLength
                    guard next < end else { break }
                    entries.meta(key: ByteView(UnsafeRawBufferPointer(start: base + key, count: keyLength)),
                                 value: ByteView(UnsafeRawBufferPointer(start: base + value, count: valueLength)))
                    at = next
                    left &-= 1
                } while left > 0
                reader.offset = at
            }
            while left > 0 {
                let key = try reader.readStringLike()
                let value = try reader.readStringLike()
                entries.meta(key: key, value: value)
                left &-= 1
            }
        } else {
            // readMapHeader proved count <= bytes left / 2, so count * 2 cannot overflow.
            try reader.skipStringLikes(count &* 2)
        }
        return SpanTags(bytes: reader.bytes, start: start, count: count, encoding: .inline)
    }

    /// A v0.4 `metrics` map: checked, and each entry handed to `entries` (when it reads them).
    @inlinable
    static func readMetricsV04<E: SpanEntryVisitor>(_ reader: inout MessagePackReader, _ entries: inout E) throws(MessagePackError) -> SpanMetrics {
        let count = try reader.readMapHeaderOrNil()
        let start = reader.offset
        var left = count
        // Keys as in `readTagsV04`, values of the usual encodings (float64, positive fixint)
        // inline while the value's bytes lie whole in the input; the rest through checked reads.
        if E.readsEntries, left > 0, reader.limits.maxByteLength >= 255, let base = reader.bytes.baseAddress {
            let end = reader.bytes.count
            var at = reader.offset
            repeat {
                guard let (key, keyLength) = shortString(base, at, end) else { break }
                let v = key &+ keyLength
                guard v &+ 9 <= end, let (number, next) = SpanMetrics.Number.usual(base, v) else { break }
                at = next
                entries.metric(key: ByteView(UnsafeRawBufferPointer(start: base + key, count: keyLength)), number: number)
                left &-= 1
            } while left > 0
            reader.offset = at
        }
        while left > 0 {
            if E.readsEntries {
                let key = try reader.readStringLike()
                entries.metric(key: key, number: try readMetricValue(&reader))
            } else {
                try reader.skipStringLike()
                try skipMetricValue(&reader)
            }
            left &-= 1
        }
        return SpanMetrics(bytes: reader.bytes, start: start, count: count, encoding: .inline)
    }

    /// The body's offset and length of the fixstr or str8 whose header is at `at` (`at < end`),
    /// or nil: the fast loops' header test. The body may run past `end`: the callers compare
    /// where it ends with `end` before they read past it.
    @inlinable @inline(__always)
    static func shortString(_ base: UnsafeRawPointer, _ at: Int, _ end: Int) -> (body: Int, length: Int)? {
        let b = base.load(fromByteOffset: at, as: UInt8.self)
        if b &- 0xa0 < 0x20 { return (at &+ 1, Int(b &- 0xa0)) }
        if b == 0xd9, at &+ 1 < end { return (at &+ 2, Int(base.load(fromByteOffset: at &+ 1, as: UInt8.self))) }
        return nil
    }

    /// A metric value as `SpanMetrics.forEach` gives it (`Validated.number`), checked as
    /// `skipMetricValue` checks it. float64 and positive fixint inline.
    @inlinable @inline(__always)
    static func readMetricValue(_ reader: inout MessagePackReader) throws(MessagePackError) -> SpanMetrics.Number {
        let at = reader.offset
        if at &+ 9 <= reader.bytes.count, let base = reader.bytes.baseAddress, let (number, next) = SpanMetrics.Number.usual(base, at) {
            reader.offset = next
            return number
        }
        return try SpanMetrics.Number.read(&reader)
    }

    @inlinable
    static func readMetaStruct(_ reader: inout MessagePackReader) throws(MessagePackError) -> SpanMetaStruct {
        let count = try reader.readMapHeaderOrNil()
        let start = reader.offset
        try reader.skipStringLikes(count &* 2)
        return SpanMetaStruct(bytes: reader.bytes, start: start, count: count)
    }

    @inlinable
    static func readArrayRaw(_ reader: inout MessagePackReader) throws(MessagePackError) -> ByteView {
        let b = try reader.peekByte()
        if b == 0xc0 { reader.offset += 1; return .empty }
        guard let type = MessagePackReader.type(of: b) else { throw MessagePackError(.invalidByte(b), at: reader.offset) }
        guard type == .array else {
            throw MessagePackError(.typeMismatch(expected: "array", found: type), at: reader.offset)
        }
        return try reader.readRawValue(depth: 3)
    }

    // MARK: v0.5

    @inlinable
    mutating func visitV05<E: SpanEntryVisitor>(_ bytes: UnsafeRawBufferPointer, _ entries: inout E,
                                                _ visit: (borrowing SpanView, inout E) throws -> Void) throws -> PayloadSummary {
        var reader = MessagePackReader(bytes: bytes, limits: limits)
        var summary = PayloadSummary()
        let top = try reader.readArrayHeader()
        guard top == 2 else {
            throw MessagePackError(.invalidValue("v0.5 payload must be [string table, traces], found an array of \(top)"), at: 0)
        }
        let stringCount = try reader.readArrayHeader()
        stringTable.removeAll(keepingCapacity: true)
        stringTable.reserveCapacity(stringCount)
        for _ in 0..<stringCount {
            stringTable.append(try reader.readStringLike())
        }
        let traceCount = try reader.readArrayHeader()
        try stringTable.withUnsafeBufferPointer { table in
            var span = SpanView()
            for t in 0..<traceCount {
                let spanCount = try reader.readArrayHeader()
                for _ in 0..<spanCount {
                    span = SpanView()
                    span.traceIndex = t
                    span.spanIndex = summary.spans
                    try Self.readSpanV05(&reader, table: table, into: &span, entries: &entries)
                    try visit(span, &entries)
                    summary.spans += 1
                }
                summary.traces += 1
            }
        }
        if !reader.isAtEnd { throw MessagePackError(.trailingBytes(count: reader.remaining), at: reader.offset) }
        return summary
    }

    @inlinable @inline(__always)
    static func readIndex(_ reader: inout MessagePackReader, _ table: UnsafeBufferPointer<ByteView>) throws(MessagePackError) -> ByteView {
        table[try readIndexNumber(&reader, table)]
    }

    /// A string-table index, checked to be inside `table`.
    @inlinable @inline(__always)
    static func readIndexNumber(_ reader: inout MessagePackReader, _ table: UnsafeBufferPointer<ByteView>) throws(MessagePackError) -> Int {
        let start = reader.offset
        if let i = reader.readSmallUnsignedFast() {
            if i < table.count { return i }
            reader.offset = start  // out of the table: the slow path names the error
        }
        return try readIndexSlow(&reader, table)
    }

    @inlinable
    static func readIndexSlow(_ reader: inout MessagePackReader, _ table: UnsafeBufferPointer<ByteView>) throws(MessagePackError) -> Int {
        let start = reader.offset
        let (i, negative) = try reader.readIntegerBits()
        guard !negative, i < UInt64(table.count) else {
            let shown = negative ? String(Int64(bitPattern: i)) : String(i)
            throw MessagePackError(.invalidValue("string index \(shown) outside the string table of \(table.count)"), at: start)
        }
        return Int(i)
    }

    @inlinable
    static func readSpanV05<E: SpanEntryVisitor>(_ reader: inout MessagePackReader, table: UnsafeBufferPointer<ByteView>, into span: inout SpanView,
                                                 entries: inout E) throws(MessagePackError) {
        let start = reader.offset
        let n = try reader.readArrayHeader()
        guard n == 12 else {
            throw MessagePackError(.invalidValue("v0.5 span must be an array of 12 fields, found \(n)"), at: start)
        }
        span.fields = .all12
        span.service = try readIndex(&reader, table)
        span.name = try readIndex(&reader, table)
        span.resource = try readIndex(&reader, table)
        span.traceID = try readID(&reader)
        span.spanID = try readID(&reader)
        span.parentID = try readID(&reader)
        span.start = try readInt(&reader)
        span.duration = try readInt(&reader)
        span.error = Int32(truncatingIfNeeded: try readInt(&reader))
        let metaCount = try reader.readMapHeaderOrNil()
        let metaStart = reader.offset
        for _ in 0..<metaCount {
            let key = try readIndexNumber(&reader, table)
            let value = try readIndexNumber(&reader, table)
            if E.readsEntries { entries.metaIndexed(key: key, value: value, table: table) }
        }
        span.meta = SpanTags(bytes: reader.bytes, start: metaStart, count: metaCount, encoding: .indexed(table))
        let metricsCount = try reader.readMapHeaderOrNil()
        let metricsStart = reader.offset
        for _ in 0..<metricsCount {
            let key = try readIndexNumber(&reader, table)
            if E.readsEntries {
                entries.metricIndexed(key: key, number: try readMetricValue(&reader), table: table)
            } else {
                try skipMetricValue(&reader)
            }
        }
        span.metrics = SpanMetrics(bytes: reader.bytes, start: metricsStart, count: metricsCount, encoding: .indexed(table))
        span.type = try readIndex(&reader, table)
    }
}

/// The v0.4 span keys the decoder knows; everything else is `unknown` and skipped.
@usableFromInline
enum SpanKeyV04: UInt8 {
    case service, name, resource, traceID, spanID, parentID, start, duration, error
    case meta, metrics, metaStruct, type, spanLinks, spanEvents, unknown
}

extension TracePayloadDecoder {
    /// Convenience for a byte array.
    public mutating func visit(
        _ bytes: [UInt8],
        format: TraceFormat,
        _ visit: (borrowing SpanView) throws -> Void
    ) throws -> PayloadSummary {
        try bytes.withUnsafeBytes { try self.visit($0, format: format, visit) }
    }
}
