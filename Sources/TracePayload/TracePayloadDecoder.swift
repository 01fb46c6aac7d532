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
        for t in 0..<traceCount {
            let spanCount = try reader.readArrayHeader()
            for _ in 0..<spanCount {
                var span = SpanView(traceIndex: t, spanIndex: summary.spans)
                try Self.readSpanV04(&reader, into: &span, entries: &entries)
                try visit(span, &entries)
                summary.spans += 1
            }
            summary.traces += 1
        }
        if !reader.isAtEnd { throw MessagePackError(.trailingBytes(count: reader.remaining), at: reader.offset) }
        return summary
    }

    /// Reads one v0.4 span map (depth 2 in the payload) into `span`. Unknown keys are skipped.
    ///
    /// Filled in through `inout`: returned as a value, the optimizer split the span into scalars
    /// carried around the field loop, at ~40 more instructions per field.
    @inlinable
    static func readSpanV04<E: SpanEntryVisitor>(_ reader: inout MessagePackReader, into span: inout SpanView,
                                                 entries: inout E) throws(MessagePackError) {
        let fieldCount = try reader.readMapHeader()
        // The fast key path loads 16 bytes and leaves out the per-string length limit check (keys
        // are at most 11 bytes, fixstr and str8 values 255): it runs for keys that start at or
        // before `fastKeyEnd`, and reads the value that follows a known key at once, from the key's
        // offset and length (`Fast`), with no other bounds check than where the value ends.
        // readMapHeader read a byte, so the input has an address.
        let end = reader.bytes.count
        let base = reader.bytes.baseAddress!
        let fastKeyEnd = reader.limits.maxByteLength >= 255 ? end &- 16 : -1
        fields: for _ in 0..<fieldCount {
            // A known key written as fixstr: its first five bytes (header and four letters, a
            // perfect hash, `SpanKeyV04.init(guessing:)`) name the one key it can be, and that
            // key's case compares its whole encoding (header, length and bytes, zero-padded
            // constants) from two 8-byte loads: one jump and one or two compares per field. A
            // guess that does not match, an unknown key and a key near the end of the input go
            // through `readKeySlow`, which reads and checks the key as any string.
            let at = reader.offset
            var key = SpanKeyV04.unknown
            var guessed = true
            var w0: UInt64 = 0, w1: UInt64 = 0
            if at <= fastKeyEnd {
                w0 = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt64.self))
                w1 = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: at &+ 8, as: UInt64.self))
                key = SpanKeyV04(guessing: w0)
            }
            while true {
                switch key {
                case .error:
                    if guessed { guard w0 & 0xffff_ffff_ffff == 0x726f_7272_65a5 else { break }; reader.offset = at &+ 6 }
                    span.error = Int32(truncatingIfNeeded: try readInt(&reader)); span.fields.insert(.error)
                    continue fields
                case .traceID:
                    if guessed {
                        guard w0 == 0x695f_6563_6172_74a8, w1 & 0xff == 0x64 else { break }
                        if let (value, next) = Fast.id(base, at &+ 9, end) { span.traceID = value; span.fields.insert(.traceID); reader.offset = next; continue fields }
                        reader.offset = at &+ 9
                    }
                    span.traceID = try readID(&reader); span.fields.insert(.traceID)
                    continue fields
                case .name:
                    if guessed {
                        guard w0 & 0xff_ffff_ffff == 0x65_6d61_6ea4 else { break }
                        if let (value, next) = Fast.string(base, at &+ 5, end) { span.name = value; span.fields.insert(.name); reader.offset = next; continue fields }
                        reader.offset = at &+ 5
                    }
                    span.name = try reader.readStringLike(); span.fields.insert(.name)
                    continue fields
                case .type:
                    if guessed {
                        guard w0 & 0xff_ffff_ffff == 0x65_7079_74a4 else { break }
                        if let (value, next) = Fast.string(base, at &+ 5, end) { span.type = value; span.fields.insert(.type); reader.offset = next; continue fields }
                        reader.offset = at &+ 5
                    }
                    span.type = try reader.readStringLike(); span.fields.insert(.type)
                    continue fields
                case .metaStruct:
                    if guessed { guard w0 == 0x7473_5f61_7465_6dab, w1 & 0xffff_ffff == 0x7463_7572 else { break }; reader.offset = at &+ 12 }
                    span.metaStruct = try readMetaStruct(&reader); span.fields.insert(.metaStruct)
                    continue fields
                case .unknown:
                    // An unknown key is read by `readKeySlow` (below) first, so that it is checked.
                    if guessed { break }
                    try reader.skipValue(depth: 3)
                    continue fields
                case .metrics:
                    if guessed { guard w0 == 0x7363_6972_7465_6da7 else { break }; reader.offset = at &+ 8 }
                    span.metrics = try readMetricsV04(&reader, &entries); span.fields.insert(.metrics)
                    continue fields
                case .duration:
                    if guessed {
                        guard w0 == 0x6f69_7461_7275_64a8, w1 & 0xff == 0x6e else { break }
                        if let (value, next) = Fast.int(base, at &+ 9, end) { span.duration = value; span.fields.insert(.duration); reader.offset = next; continue fields }
                        reader.offset = at &+ 9
                    }
                    span.duration = try readInt(&reader); span.fields.insert(.duration)
                    continue fields
                case .spanID:
                    if guessed {
                        guard w0 == 0x6469_5f6e_6170_73a7 else { break }
                        if let (value, next) = Fast.id(base, at &+ 8, end) { span.spanID = value; span.fields.insert(.spanID); reader.offset = next; continue fields }
                        reader.offset = at &+ 8
                    }
                    span.spanID = try readID(&reader); span.fields.insert(.spanID)
                    continue fields
                case .parentID:
                    if guessed {
                        guard w0 == 0x5f74_6e65_7261_70a9, w1 & 0xffff == 0x6469 else { break }
                        if let (value, next) = Fast.id(base, at &+ 10, end) { span.parentID = value; span.fields.insert(.parentID); reader.offset = next; continue fields }
                        reader.offset = at &+ 10
                    }
                    span.parentID = try readID(&reader); span.fields.insert(.parentID)
                    continue fields
                case .start:
                    if guessed {
                        guard w0 & 0xffff_ffff_ffff == 0x7472_6174_73a5 else { break }
                        if let (value, next) = Fast.int(base, at &+ 6, end) { span.start = value; span.fields.insert(.start); reader.offset = next; continue fields }
                        reader.offset = at &+ 6
                    }
                    span.start = try readInt(&reader); span.fields.insert(.start)
                    continue fields
                case .meta:
                    if guessed { guard w0 & 0xff_ffff_ffff == 0x61_7465_6da4 else { break }; reader.offset = at &+ 5 }
                    span.meta = try readTagsV04(&reader, &entries); span.fields.insert(.meta)
                    continue fields
                case .spanLinks:
                    if guessed { guard w0 == 0x696c_5f6e_6170_73aa, w1 & 0xff_ffff == 0x73_6b6e else { break }; reader.offset = at &+ 11 }
                    span.spanLinks = try readArrayRaw(&reader); span.fields.insert(.spanLinks)
                    continue fields
                case .spanEvents:
                    if guessed { guard w0 == 0x7665_5f6e_6170_73ab, w1 & 0xffff_ffff == 0x7374_6e65 else { break }; reader.offset = at &+ 12 }
                    span.spanEvents = try readArrayRaw(&reader); span.fields.insert(.spanEvents)
                    continue fields
                case .resource:
                    if guessed {
                        guard w0 == 0x6372_756f_7365_72a8, w1 & 0xff == 0x65 else { break }
                        if let (value, next) = Fast.string(base, at &+ 9, end) { span.resource = value; span.fields.insert(.resource); reader.offset = next; continue fields }
                        reader.offset = at &+ 9
                    }
                    span.resource = try reader.readStringLike(); span.fields.insert(.resource)
                    continue fields
                case .service:
                    if guessed {
                        guard w0 == 0x6563_6976_7265_73a7 else { break }
                        if let (value, next) = Fast.string(base, at &+ 8, end) { span.service = value; span.fields.insert(.service); reader.offset = next; continue fields }
                        reader.offset = at &+ 8
                    }
                    span.service = try reader.readStringLike(); span.fields.insert(.service)
                    continue fields
                }
                // The guess was wrong, or there was none: the key read as any string, cursor at `at`.
                key = try readKeySlow(&reader)
                guessed = false
            }
        }
    }

    /// The values of a span's fields in their usual encodings, read at `at` with one comparison
    /// against `end`; nil for anything else, which the field's checked read then takes from `at`.
    /// The inline paths of `readID` and `readInt`, and of the fast key path, which reads the value
    /// from where the known key before it ended (at most 12 bytes past a key that starts 16 bytes
    /// or more before `end`, so the value's first byte is in the input: `string` relies on it).
    @usableFromInline
    enum Fast {
        /// A fixstr or str8 (the length limit is at least 255 where this runs).
        @inlinable @inline(__always)
        static func string(_ base: UnsafeRawPointer, _ at: Int, _ end: Int) -> (ByteView, Int)? {
            guard let (body, length) = MessagePackReader.shortStringHeader(base, at, end), body &+ length <= end else { return nil }
            return (ByteView(UnsafeRawBufferPointer(start: base + body, count: length)), body &+ length)
        }

        /// An id in its usual encodings (`readID`): uint64 or positive fixint.
        @inlinable @inline(__always)
        static func id(_ base: UnsafeRawPointer, _ at: Int, _ end: Int) -> (UInt64, Int)? {
            guard at &+ 9 <= end else { return nil }
            let b = base.load(fromByteOffset: at, as: UInt8.self)
            if b == 0xcf { return (UInt64(bigEndian: base.loadUnaligned(fromByteOffset: at &+ 1, as: UInt64.self)), at &+ 9) }
            if b < 0x80 { return (UInt64(b), at &+ 1) }
            return nil
        }

        /// A signed integer field in its usual encodings (`readInt`): positive fixint, uint8 to
        /// uint64, int32 and int64 (dd-trace-py writes start as int64).
        @inlinable @inline(__always)
        static func int(_ base: UnsafeRawPointer, _ at: Int, _ end: Int) -> (Int64, Int)? {
            guard at &+ 9 <= end else { return nil }
            switch base.load(fromByteOffset: at, as: UInt8.self) {
            case let b where b < 0x80: return (Int64(b), at &+ 1)
            case 0xcc: return (Int64(base.load(fromByteOffset: at &+ 1, as: UInt8.self)), at &+ 2)
            case 0xcd: return (Int64(UInt16(bigEndian: base.loadUnaligned(fromByteOffset: at &+ 1, as: UInt16.self))), at &+ 3)
            case 0xce: return (Int64(UInt32(bigEndian: base.loadUnaligned(fromByteOffset: at &+ 1, as: UInt32.self))), at &+ 5)
            case 0xcf, 0xd3:
                return (Int64(bitPattern: UInt64(bigEndian: base.loadUnaligned(fromByteOffset: at &+ 1, as: UInt64.self))), at &+ 9)
            case 0xd2: return (Int64(Int32(bitPattern: UInt32(bigEndian: base.loadUnaligned(fromByteOffset: at &+ 1, as: UInt32.self)))), at &+ 5)
            default: return nil
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
        if let base = reader.bytes.baseAddress, let (value, next) = Fast.id(base, reader.offset, reader.bytes.count) {
            reader.offset = next
            return value
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
        if let base = reader.bytes.baseAddress, let (value, next) = Fast.int(base, reader.offset, reader.bytes.count) {
            reader.offset = next
            return value
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
                    guard let (key, keyLength) = MessagePackReader.shortStringHeader(base, at, end) else { break }
                    let v = key &+ keyLength
                    guard v < end, let (value, valueLength) = MessagePackReader.shortStringHeader(base, v, end) else { break }
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
                guard let (key, keyLength) = MessagePackReader.shortStringHeader(base, at, end) else { break }
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
            for t in 0..<traceCount {
                let spanCount = try reader.readArrayHeader()
                for _ in 0..<spanCount {
                    let span = try Self.readSpanV05(&reader, table: table, traceIndex: t, spanIndex: summary.spans, entries: &entries)
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
    static func readSpanV05<E: SpanEntryVisitor>(_ reader: inout MessagePackReader, table: UnsafeBufferPointer<ByteView>,
                                                 traceIndex: Int, spanIndex: Int, entries: inout E) throws(MessagePackError) -> SpanView {
        var span = SpanView(traceIndex: traceIndex, spanIndex: spanIndex)
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
        return span
    }
}

/// The v0.4 span keys the decoder knows; everything else is `unknown` and skipped.
///
/// The raw values are the keys' slots in `init(guessing:)`'s perfect hash (`unknown` the one
/// free slot), so that the guess is the key itself.
@usableFromInline
enum SpanKeyV04: UInt8 {
    case error, traceID, name, type, metaStruct, unknown, metrics, duration
    case spanID, parentID, start, meta, spanLinks, spanEvents, resource, service

    /// The only key whose fixstr encoding can start like `w0` (the first eight bytes at the key,
    /// little-endian): a multiplicative hash of the header byte and the next four (every key has
    /// at least four letters, so these bytes are the key's own), into 16 slots, one per key and
    /// `unknown`. The multiplier was searched for so that the 15 keys land in 15 distinct slots;
    /// the caller still compares the whole key, since any other bytes also hash to some slot.
    @inlinable @inline(__always)
    init(guessing w0: UInt64) {
        let slot = ((w0 &<< 24) &* 0xe9bc_0413_c670_4e61) &>> 60
        self = unsafeBitCast(UInt8(truncatingIfNeeded: slot), to: SpanKeyV04.self)
    }
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
