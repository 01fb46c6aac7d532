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
        switch format {
        case .v04: return try visitV04(bytes, visit)
        case .v05: return try visitV05(bytes, visit)
        }
    }

    // MARK: v0.4

    @inlinable
    mutating func visitV04(_ bytes: UnsafeRawBufferPointer, _ visit: (borrowing SpanView) throws -> Void) throws -> PayloadSummary {
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
                try Self.readSpanV04(&reader, into: &span)
                try visit(span)
                summary.spans += 1
            }
            summary.traces += 1
        }
        if !reader.isAtEnd { throw MessagePackError(.trailingBytes(count: reader.remaining), at: reader.offset) }
        return summary
    }

    /// Reads one v0.4 span map (depth 2 in the payload). Unknown keys are skipped.
    @inlinable
    static func readSpanV04(_ reader: inout MessagePackReader, into span: inout SpanView) throws(MessagePackError) {
        let entries = try reader.readMapHeader()
        for _ in 0..<entries {
            let key = try reader.readStringLike()
            switch key.count {
            case 4:
                if key.equals("name") { span.name = try reader.readStringLike(); span.fields.insert(.name); continue }
                if key.equals("meta") { span.meta = try readTagsV04(&reader); span.fields.insert(.meta); continue }
                if key.equals("type") { span.type = try reader.readStringLike(); span.fields.insert(.type); continue }
            case 5:
                if key.equals("start") { span.start = try readInt(&reader); span.fields.insert(.start); continue }
                if key.equals("error") { span.error = Int32(truncatingIfNeeded: try readInt(&reader)); span.fields.insert(.error); continue }
            case 7:
                if key.equals("service") { span.service = try reader.readStringLike(); span.fields.insert(.service); continue }
                if key.equals("span_id") { span.spanID = try readID(&reader); span.fields.insert(.spanID); continue }
                if key.equals("metrics") { span.metrics = try readMetricsV04(&reader); span.fields.insert(.metrics); continue }
            case 8:
                if key.equals("resource") { span.resource = try reader.readStringLike(); span.fields.insert(.resource); continue }
                if key.equals("trace_id") { span.traceID = try readID(&reader); span.fields.insert(.traceID); continue }
                if key.equals("duration") { span.duration = try readInt(&reader); span.fields.insert(.duration); continue }
            case 9:
                if key.equals("parent_id") { span.parentID = try readID(&reader); span.fields.insert(.parentID); continue }
            case 10:
                if key.equals("span_links") { span.spanLinks = try readArrayRaw(&reader); span.fields.insert(.spanLinks); continue }
            case 11:
                if key.equals("meta_struct") { span.metaStruct = try readMetaStruct(&reader); span.fields.insert(.metaStruct); continue }
                if key.equals("span_events") { span.spanEvents = try readArrayRaw(&reader); span.fields.insert(.spanEvents); continue }
            default:
                break
            }
            try reader.skipValue(depth: 3)
        }
    }

    /// An id: any integer width (negative values as their two's complement, as Go's decoder
    /// does), a float, or nil for 0.
    @inlinable @inline(__always)
    static func readID(_ reader: inout MessagePackReader) throws(MessagePackError) -> UInt64 {
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
    @inlinable @inline(__always)
    static func readInt(_ reader: inout MessagePackReader) throws(MessagePackError) -> Int64 {
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

    @inlinable
    static func readTagsV04(_ reader: inout MessagePackReader) throws(MessagePackError) -> SpanTags {
        let count = try reader.readMapHeaderOrNil()
        let start = reader.offset
        for _ in 0..<count {
            _ = try reader.readStringLike()
            _ = try reader.readStringLike()
        }
        return SpanTags(bytes: reader.bytes, start: start, count: count, encoding: .inline)
    }

    @inlinable
    static func readMetricsV04(_ reader: inout MessagePackReader) throws(MessagePackError) -> SpanMetrics {
        let count = try reader.readMapHeaderOrNil()
        let start = reader.offset
        for _ in 0..<count {
            _ = try reader.readStringLike()
            _ = try reader.readNumberAsDouble()
        }
        return SpanMetrics(bytes: reader.bytes, start: start, count: count, encoding: .inline)
    }

    @inlinable
    static func readMetaStruct(_ reader: inout MessagePackReader) throws(MessagePackError) -> SpanMetaStruct {
        let count = try reader.readMapHeaderOrNil()
        let start = reader.offset
        for _ in 0..<count {
            _ = try reader.readStringLike()
            _ = try reader.readStringLike()
        }
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
    mutating func visitV05(_ bytes: UnsafeRawBufferPointer, _ visit: (borrowing SpanView) throws -> Void) throws -> PayloadSummary {
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
                    try Self.readSpanV05(&reader, table: table, into: &span)
                    try visit(span)
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
        let start = reader.offset
        if let i = reader.readSmallUnsignedFast() {
            if i < table.count { return table[i] }
            reader.offset = start  // out of the table: the slow path names the error
        }
        return try readIndexSlow(&reader, table)
    }

    @inlinable
    static func readIndexSlow(_ reader: inout MessagePackReader, _ table: UnsafeBufferPointer<ByteView>) throws(MessagePackError) -> ByteView {
        let start = reader.offset
        let (i, negative) = try reader.readIntegerBits()
        guard !negative, i < UInt64(table.count) else {
            let shown = negative ? String(Int64(bitPattern: i)) : String(i)
            throw MessagePackError(.invalidValue("string index \(shown) outside the string table of \(table.count)"), at: start)
        }
        return table[Int(i)]
    }

    @inlinable
    static func readSpanV05(_ reader: inout MessagePackReader, table: UnsafeBufferPointer<ByteView>, into span: inout SpanView) throws(MessagePackError) {
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
            _ = try readIndex(&reader, table)
            _ = try readIndex(&reader, table)
        }
        span.meta = SpanTags(bytes: reader.bytes, start: metaStart, count: metaCount, encoding: .indexed(table))
        let metricsCount = try reader.readMapHeaderOrNil()
        let metricsStart = reader.offset
        for _ in 0..<metricsCount {
            _ = try readIndex(&reader, table)
            _ = try reader.readNumberAsDouble()
        }
        span.metrics = SpanMetrics(bytes: reader.bytes, start: metricsStart, count: metricsCount, encoding: .indexed(table))
        span.type = try readIndex(&reader, table)
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
