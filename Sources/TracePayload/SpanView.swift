import MessagePack

/// One span of a trace payload, as views into the payload's bytes.
///
/// Handed out one at a time by `TracePayloadDecoder.visit`; valid only inside the visit closure
/// (its strings borrow the payload). Nothing in it is allocated: tags are walked on demand.
public struct SpanView {
    /// Which span fields the payload carried (v0.4 maps may omit any; v0.5 arrays carry all 12).
    public struct Fields: OptionSet, Sendable {
        public let rawValue: UInt16
        @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
        // Computed, not `static let`: a stored static is a lazily initialised global, which code
        // inlined into another module reaches through a call to its addressor per use (once per
        // span field in the decoder, RESULTS.md "The decoder per span"); a computed constant folds.
        @inlinable public static var service: Fields { Fields(rawValue: 1 << 0) }
        @inlinable public static var name: Fields { Fields(rawValue: 1 << 1) }
        @inlinable public static var resource: Fields { Fields(rawValue: 1 << 2) }
        @inlinable public static var traceID: Fields { Fields(rawValue: 1 << 3) }
        @inlinable public static var spanID: Fields { Fields(rawValue: 1 << 4) }
        @inlinable public static var parentID: Fields { Fields(rawValue: 1 << 5) }
        @inlinable public static var start: Fields { Fields(rawValue: 1 << 6) }
        @inlinable public static var duration: Fields { Fields(rawValue: 1 << 7) }
        @inlinable public static var error: Fields { Fields(rawValue: 1 << 8) }
        @inlinable public static var meta: Fields { Fields(rawValue: 1 << 9) }
        @inlinable public static var metrics: Fields { Fields(rawValue: 1 << 10) }
        @inlinable public static var type: Fields { Fields(rawValue: 1 << 11) }
        @inlinable public static var metaStruct: Fields { Fields(rawValue: 1 << 12) }
        @inlinable public static var spanLinks: Fields { Fields(rawValue: 1 << 13) }
        @inlinable public static var spanEvents: Fields { Fields(rawValue: 1 << 14) }
        @inlinable public static var all12: Fields { Fields(rawValue: 0b1111_1111_1111) }
    }

    public var fields: Fields
    public var service: ByteView
    public var name: ByteView
    public var resource: ByteView
    public var type: ByteView
    /// Lower 64 bits of the trace id (the upper 64 travel in `meta["_dd.p.tid"]`).
    public var traceID: UInt64
    public var spanID: UInt64
    public var parentID: UInt64
    /// Start in nanoseconds since the epoch; duration in nanoseconds.
    public var start: Int64
    public var duration: Int64
    public var error: Int32
    public var meta: SpanTags
    public var metrics: SpanMetrics
    public var metaStruct: SpanMetaStruct
    /// Raw msgpack of a v0.4 `span_links` array (v0.5 carries links as JSON in `meta["_dd.span_links"]`).
    public var spanLinks: ByteView
    /// Raw msgpack of a v0.4 `span_events` array (3.19 sends events as JSON in `meta["events"]`).
    public var spanEvents: ByteView

    /// Position in the payload: index of the trace, and of the span within the whole payload.
    public var traceIndex: Int
    public var spanIndex: Int

    @inlinable public init() { self.init(traceIndex: 0, spanIndex: 0) }

    /// Every field empty, assigned here rather than by default values: a stored property's default
    /// value is an initialiser expression of its own, which the decoder called per span, and
    /// the empty views are zeros the compiler stores inline.
    @inlinable
    init(traceIndex: Int, spanIndex: Int) {
        fields = Fields(rawValue: 0)
        service = ByteView(UnsafeRawBufferPointer(start: nil, count: 0))
        name = service
        resource = service
        type = service
        traceID = 0
        spanID = 0
        parentID = 0
        start = 0
        duration = 0
        error = 0
        meta = .empty
        metrics = .empty
        metaStruct = .empty
        spanLinks = service
        spanEvents = service
        self.traceIndex = traceIndex
        self.spanIndex = spanIndex
    }
}

/// Where a span's string values live: the payload itself (v0.4) or the v0.5 string table.
@usableFromInline
enum TagEncoding {
    case inline
    case indexed(UnsafeBufferPointer<ByteView>)
}

/// The `meta` map of a span: string keys to string values, walked on demand.
///
/// The decoder validated every entry before handing the span out, so walking cannot fail.
public struct SpanTags {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline let start: Int
    public let count: Int
    @usableFromInline let encoding: TagEncoding

    @usableFromInline
    init(bytes: UnsafeRawBufferPointer, start: Int, count: Int, encoding: TagEncoding) {
        self.bytes = bytes
        self.start = start
        self.count = count
        self.encoding = encoding
    }

    @inlinable public static var empty: SpanTags { SpanTags(bytes: UnsafeRawBufferPointer(start: nil, count: 0), start: 0, count: 0, encoding: .inline) }

    @inlinable public var isEmpty: Bool { count == 0 }

    /// Calls `body` for every (key, value), in payload order.
    @inlinable
    public func forEach(_ body: (ByteView, ByteView) throws -> Void) rethrows {
        guard count > 0 else { return }
        var at = start
        switch encoding {
        case .inline:
            for _ in 0..<count {
                let k: ByteView, v: ByteView
                (k, at) = Validated.stringLike(bytes, at)
                (v, at) = Validated.stringLike(bytes, at)
                try body(k, v)
            }
        case .indexed(let table):
            for _ in 0..<count {
                let k: Int, v: Int
                (k, at) = Validated.index(bytes, at)
                (v, at) = Validated.index(bytes, at)
                try body(table[k], table[v])
            }
        }
    }

    /// The value of `key` (first occurrence), by a linear walk.
    @inlinable
    public subscript(key: StaticString) -> ByteView? {
        var found: ByteView?
        forEach { k, v in if found == nil && k.equals(key) { found = v } }
        return found
    }
}

/// The `metrics` map of a span: string keys to numbers (any int width or float, as the Agent accepts).
public struct SpanMetrics {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline let start: Int
    public let count: Int
    @usableFromInline let encoding: TagEncoding

    @usableFromInline
    init(bytes: UnsafeRawBufferPointer, start: Int, count: Int, encoding: TagEncoding) {
        self.bytes = bytes
        self.start = start
        self.count = count
        self.encoding = encoding
    }

    @inlinable public static var empty: SpanMetrics { SpanMetrics(bytes: UnsafeRawBufferPointer(start: nil, count: 0), start: 0, count: 0, encoding: .inline) }

    @inlinable public var isEmpty: Bool { count == 0 }

    /// A metric value and whether the payload carried it as an integer (the legacy Python writer
    /// keeps ints; the native writer sends every metric as float64).
    public struct Number: Equatable, Sendable {
        public var value: Double
        public var isInteger: Bool
        @inlinable public init(value: Double, isInteger: Bool) { self.value = value; self.isInteger = isInteger }

        /// The usual encodings of a metric value (float64, positive fixint) at `at`, whose 9 bytes
        /// the caller knows are in the buffer, and the offset after it; nil for any other encoding.
        /// The one inline reading that the decoder's checks and the validated walks share.
        @inlinable @inline(__always)
        static func usual(_ base: UnsafeRawPointer, _ at: Int) -> (Number, Int)? {
            let b = base.load(fromByteOffset: at, as: UInt8.self)
            if b == 0xcb {
                let bits = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: at &+ 1, as: UInt64.self))
                return (Number(value: Double(bitPattern: bits), isInteger: false), at &+ 9)
            }
            if b < 0x80 { return (Number(value: Double(b), isInteger: true), at &+ 1) }
            return nil
        }

        /// Any other metric value (a number of any encoding, or nil as 0), read and checked by
        /// `reader`: the decoder's checked reads and, with no limits, the validated walks.
        @usableFromInline
        static func read(_ reader: inout MessagePackReader) throws(MessagePackError) -> Number {
            let b = try reader.peekByte()
            if try reader.readNil() { return Number(value: 0, isInteger: false) }
            let value = try reader.readNumberAsDouble()
            return Number(value: value, isInteger: b != 0xca && b != 0xcb)
        }
    }

    /// Calls `body` for every (key, value), in payload order. A nil value is 0 (as the Agent reads
    /// it), not an integer.
    @inlinable
    public func forEach(_ body: (ByteView, Number) throws -> Void) rethrows {
        guard count > 0 else { return }
        var at = start
        for _ in 0..<count {
            let k: ByteView, v: Number
            switch encoding {
            case .inline: (k, at) = Validated.stringLike(bytes, at)
            case .indexed(let table): let i: Int; (i, at) = Validated.index(bytes, at); k = table[i]
            }
            (v, at) = Validated.number(bytes, at)
            try body(k, v)
        }
    }

    @inlinable
    public subscript(key: StaticString) -> Double? {
        var found: Double?
        forEach { k, v in if found == nil && k.equals(key) { found = v.value } }
        return found
    }
}

/// The v0.4 `meta_struct` map: key to the msgpack encoding of a value (a bin on the wire).
public struct SpanMetaStruct {
    @usableFromInline let bytes: UnsafeRawBufferPointer
    @usableFromInline let start: Int
    public let count: Int

    @usableFromInline
    init(bytes: UnsafeRawBufferPointer, start: Int, count: Int) {
        self.bytes = bytes
        self.start = start
        self.count = count
    }

    @inlinable public static var empty: SpanMetaStruct { SpanMetaStruct(bytes: UnsafeRawBufferPointer(start: nil, count: 0), start: 0, count: 0) }

    @inlinable public var isEmpty: Bool { count == 0 }

    /// Calls `body` for every (key, encoded value). Decode a value with `MessagePackReader.decode`.
    @inlinable
    public func forEach(_ body: (ByteView, ByteView) throws -> Void) rethrows {
        guard count > 0 else { return }
        var at = start
        for _ in 0..<count {
            let k: ByteView, v: ByteView
            (k, at) = Validated.stringLike(bytes, at)
            (v, at) = Validated.stringLike(bytes, at)
            try body(k, v)
        }
    }
}

/// Reading values that the decoder has already validated (the walks of `SpanTags`, `SpanMetrics`
/// and `SpanMetaStruct`): the usual encodings inline with no checks, the rest through a reader.
/// The decoder checked every entry before handing the span out, with the same rules, so the
/// bytes are there and of the right type.
@usableFromInline
enum Validated {
    /// No limits: the decoder's limits were applied when the entries were validated.
    @usableFromInline
    static let unlimited = MessagePackLimits(maxDepth: .max, maxContainerCount: .max, maxByteLength: .max)

    /// A str, bin or nil (empty), as `MessagePackReader.readStringLike` reads it, and the offset after it.
    @inlinable @inline(__always)
    static func stringLike(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> (ByteView, Int) {
        let base = bytes.baseAddress!
        guard let (body, length) = MessagePackReader.shortStringHeader(base, at, bytes.count) else { return stringLikeSlow(bytes, at) }
        return (ByteView(UnsafeRawBufferPointer(start: base + body, count: length)), body &+ length)
    }

    @usableFromInline
    static func stringLikeSlow(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> (ByteView, Int) {
        var reader = MessagePackReader(bytes: bytes, offset: at, limits: unlimited)
        let value = try! reader.readStringLike()
        return (value, reader.offset)
    }

    /// A v0.5 string-table index, known to be inside the table, and the offset after it.
    @inlinable @inline(__always)
    static func index(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> (Int, Int) {
        let b = bytes.load(fromByteOffset: at, as: UInt8.self)
        if b < 0x80 { return (Int(b), at &+ 1) }
        return indexSlow(bytes, at)
    }

    @usableFromInline
    static func indexSlow(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> (Int, Int) {
        var reader = MessagePackReader(bytes: bytes, offset: at, limits: unlimited)
        let value = Int(try! reader.readUInt64())
        return (value, reader.offset)
    }

    /// A metric value (any number, or nil as 0) and the offset after it.
    @inlinable @inline(__always)
    static func number(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> (SpanMetrics.Number, Int) {
        if let usual = SpanMetrics.Number.usual(bytes.baseAddress!, at) { return usual }
        return numberSlow(bytes, at)
    }

    @usableFromInline
    static func numberSlow(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> (SpanMetrics.Number, Int) {
        var reader = MessagePackReader(bytes: bytes, offset: at, limits: unlimited)
        let value = try! SpanMetrics.Number.read(&reader)
        return (value, reader.offset)
    }
}
