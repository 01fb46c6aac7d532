/// The msgpack types, as the format spec names its families.
public enum MessagePackType: UInt8, Sendable, Equatable, CustomStringConvertible {
    case `nil`, bool, int, uint, float32, float64, string, binary, array, map, `extension`

    public var description: String {
        switch self {
        case .nil: "nil"
        case .bool: "bool"
        case .int: "negative int"
        case .uint: "int"
        case .float32: "float32"
        case .float64: "float64"
        case .string: "str"
        case .binary: "bin"
        case .array: "array"
        case .map: "map"
        case .extension: "ext"
        }
    }
}

/// A zero-copy msgpack reader over borrowed bytes.
///
/// The reader is a cursor: each `read…` consumes one value at `offset` and returns scalars by value
/// and strings/bins as `ByteView`s into the input. Containers are not materialised: `readArrayHeader`
/// and `readMapHeader` return the element count and the caller reads (or `skipValue`s) the elements.
/// Every length is checked against the bytes left, and against `limits`, before it is used.
///
/// Performance matters here (it is the whole cost of analysis), so the hot paths are `@inlinable`
/// and dispatch on the first byte with no intermediate value.
@frozen
public struct MessagePackReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int
    public let limits: MessagePackLimits

    @inlinable
    public init(bytes: UnsafeRawBufferPointer, offset: Int = 0, limits: MessagePackLimits = .default) {
        self.bytes = bytes
        self.offset = offset
        self.limits = limits
    }

    @inlinable public var isAtEnd: Bool { offset >= bytes.count }
    @inlinable public var remaining: Int { bytes.count - offset }

    // MARK: - Raw access

    @inlinable @inline(__always)
    func need(_ n: Int, at start: Int) throws(MessagePackError) {
        if n > bytes.count - start { try Self.fail(.truncated(needed: n - (bytes.count - start)), at: start) }
    }

    /// Throws `MessagePackError(reason, at: offset)`, out of line: where a read is inlined (the
    /// decoder's span and map loops inline a dozen), each check then costs a call in code that
    /// never runs on good input, instead of the error's construction and the runtime's throw hook
    /// inline beside the hot path, which spread it over more cache lines.
    @usableFromInline @inline(never)
    static func fail(_ reason: MessagePackError.Reason, at offset: Int) throws(MessagePackError) -> Never {
        throw MessagePackError(reason, at: offset)
    }

    /// `fail` with the type mismatch (or invalid byte) found where `expected` was required.
    @usableFromInline @inline(never)
    static func failMismatch(_ expected: String, _ b: UInt8, at start: Int) throws(MessagePackError) -> Never {
        guard let t = MessagePackReader.type(of: b) else { throw MessagePackError(.invalidByte(b), at: start) }
        throw MessagePackError(.typeMismatch(expected: expected, found: t), at: start)
    }

    @inlinable @inline(__always)
    func byte(at i: Int) -> UInt8 { bytes.load(fromByteOffset: i, as: UInt8.self) }

    @inlinable @inline(__always)
    func be16(at i: Int) -> UInt16 { UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt16.self)) }

    @inlinable @inline(__always)
    func be32(at i: Int) -> UInt32 { UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)) }

    @inlinable @inline(__always)
    func be64(at i: Int) -> UInt64 { UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }

    /// The first byte of the next value, without consuming it.
    @inlinable @inline(__always)
    public func peekByte() throws(MessagePackError) -> UInt8 {
        try need(1, at: offset)
        return byte(at: offset)
    }

    /// The type of the next value, without consuming it.
    @inlinable
    public func peekType() throws(MessagePackError) -> MessagePackType {
        let b = try peekByte()
        guard let t = MessagePackReader.type(of: b) else { throw MessagePackError(.invalidByte(b), at: offset) }
        return t
    }

    @inlinable
    public static func type(of b: UInt8) -> MessagePackType? {
        switch b {
        case 0x00...0x7f, 0xcc...0xcf: return .uint
        case 0xe0...0xff, 0xd0...0xd3: return .int
        case 0x80...0x8f, 0xde, 0xdf: return .map
        case 0x90...0x9f, 0xdc, 0xdd: return .array
        case 0xa0...0xbf, 0xd9...0xdb: return .string
        case 0xc0: return .nil
        case 0xc2, 0xc3: return .bool
        case 0xc4...0xc6: return .binary
        case 0xc7...0xc9, 0xd4...0xd8: return .extension
        case 0xca: return .float32
        case 0xcb: return .float64
        default: return nil  // 0xc1
        }
    }

    // MARK: - Scalars

    /// Consumes a nil and returns true, or leaves the cursor and returns false.
    @inlinable
    public mutating func readNil() throws(MessagePackError) -> Bool {
        if try peekByte() == 0xc0 { offset += 1; return true }
        return false
    }

    @inlinable
    public mutating func readBool() throws(MessagePackError) -> Bool {
        let b = try peekByte()
        switch b {
        case 0xc2: offset += 1; return false
        case 0xc3: offset += 1; return true
        default: try Self.failMismatch("bool", b, at: offset)
        }
    }

    /// Reads an integer of any width as a 64-bit pattern; `negative` tells whether it was below zero.
    @inlinable @inline(__always)
    public mutating func readIntegerBits() throws(MessagePackError) -> (bits: UInt64, negative: Bool) {
        let start = offset
        let b = try peekByte()
        switch b {
        case 0x00...0x7f: offset += 1; return (UInt64(b), false)
        case 0xe0...0xff: offset += 1; return (UInt64(bitPattern: Int64(Int8(bitPattern: b))), true)
        case 0xcc: try need(2, at: start); offset += 2; return (UInt64(byte(at: start + 1)), false)
        case 0xcd: try need(3, at: start); offset += 3; return (UInt64(be16(at: start + 1)), false)
        case 0xce: try need(5, at: start); offset += 5; return (UInt64(be32(at: start + 1)), false)
        case 0xcf: try need(9, at: start); offset += 9; return (be64(at: start + 1), false)
        case 0xd0:
            try need(2, at: start); offset += 2
            let v = Int64(Int8(bitPattern: byte(at: start + 1)))
            return (UInt64(bitPattern: v), v < 0)
        case 0xd1:
            try need(3, at: start); offset += 3
            let v = Int64(Int16(bitPattern: be16(at: start + 1)))
            return (UInt64(bitPattern: v), v < 0)
        case 0xd2:
            try need(5, at: start); offset += 5
            let v = Int64(Int32(bitPattern: be32(at: start + 1)))
            return (UInt64(bitPattern: v), v < 0)
        case 0xd3:
            try need(9, at: start); offset += 9
            let v = Int64(bitPattern: be64(at: start + 1))
            return (UInt64(bitPattern: v), v < 0)
        default: try Self.failMismatch("int", b, at: start)
        }
    }

    /// A non-negative integer below 65,536 in its usual encodings (positive fixint, uint8, uint16)
    /// read with one bounds check, or nil with the cursor unchanged: the fast path for indexes.
    @inlinable @inline(__always)
    public mutating func readSmallUnsignedFast() -> Int? {
        let start = offset
        guard start &+ 3 <= bytes.count else {
            guard start < bytes.count, byte(at: start) < 0x80 else { return nil }
            offset = start &+ 1
            return Int(byte(at: start))
        }
        let b = byte(at: start)
        if b < 0x80 { offset = start &+ 1; return Int(b) }
        if b == 0xcc { offset = start &+ 2; return Int(byte(at: start &+ 1)) }
        if b == 0xcd { offset = start &+ 3; return Int(be16(at: start &+ 1)) }
        return nil
    }

    /// Any integer width, as a signed value; unsigned values above `Int64.max` are an overflow.
    @inlinable
    public mutating func readInt64() throws(MessagePackError) -> Int64 {
        let start = offset
        let (bits, negative) = try readIntegerBits()
        if !negative && bits > UInt64(Int64.max) { throw MessagePackError(.integerOverflow, at: start) }
        return Int64(bitPattern: bits)
    }

    /// Any integer width, as an unsigned value; negative values are an overflow.
    @inlinable
    public mutating func readUInt64() throws(MessagePackError) -> UInt64 {
        let start = offset
        let (bits, negative) = try readIntegerBits()
        if negative { throw MessagePackError(.integerOverflow, at: start) }
        return bits
    }

    /// A float32 or float64 value.
    @inlinable @inline(__always)
    public mutating func readDouble() throws(MessagePackError) -> Double {
        let start = offset
        let b = try peekByte()
        switch b {
        case 0xcb: try need(9, at: start); offset += 9; return Double(bitPattern: be64(at: start + 1))
        case 0xca: try need(5, at: start); offset += 5; return Double(Float(bitPattern: be32(at: start + 1)))
        default: try Self.failMismatch("float", b, at: start)
        }
    }

    /// A number of any kind (int of any width, float32, float64) as a Double: what the Datadog
    /// Agent accepts wherever it expects a number.
    @inlinable @inline(__always)
    public mutating func readNumberAsDouble() throws(MessagePackError) -> Double {
        // Fast path: float64, what the native writer sends for every metric.
        let start = offset
        if start &+ 9 <= bytes.count && byte(at: start) == 0xcb {
            offset = start &+ 9
            return Double(bitPattern: be64(at: start &+ 1))
        }
        return try readNumberAsDoubleSlow()
    }

    @inlinable
    mutating func readNumberAsDoubleSlow() throws(MessagePackError) -> Double {
        let b = try peekByte()
        switch b {
        case 0xca, 0xcb: return try readDouble()
        case 0x00...0x7f, 0xe0...0xff, 0xcc...0xd3:
            let (bits, negative) = try readIntegerBits()
            return negative ? Double(Int64(bitPattern: bits)) : Double(bits)
        default: try Self.failMismatch("number", b, at: offset)
        }
    }

    // MARK: - Strings, binaries, extensions

    @inlinable @inline(__always)
    mutating func take(_ length: Int, headerSize: Int, at start: Int) throws(MessagePackError) -> ByteView {
        if length > limits.maxByteLength {
            try Self.fail(.lengthLimitExceeded(declared: length, limit: limits.maxByteLength), at: start)
        }
        try need(headerSize + length, at: start)
        offset = start + headerSize + length
        // need() proved the range inside a non-empty buffer, so baseAddress exists.
        return ByteView(UnsafeRawBufferPointer(start: bytes.baseAddress! + (start + headerSize), count: length))
    }

    /// The body's offset and length of the fixstr or str8 whose header byte is at `at` (`at < end`,
    /// `end` the end of the input), or nil for any other header: the one header test of the
    /// fast loops that take these strings by the run (`skipStringLikes`, the trace decoder's span
    /// and map readers, the walks of validated maps). The body may run past `end`, and its length
    /// is not held against `limits`: the callers compare where it ends with `end`, and run only
    /// with a length limit of at least 255.
    @inlinable @inline(__always)
    public static func shortStringHeader(_ base: UnsafeRawPointer, _ at: Int, _ end: Int) -> (body: Int, length: Int)? {
        let b = base.load(fromByteOffset: at, as: UInt8.self)
        if b &- 0xa0 < 0x20 { return (at &+ 1, Int(b &- 0xa0)) }
        if b == 0xd9, at &+ 1 < end { return (at &+ 2, Int(base.load(fromByteOffset: at &+ 1, as: UInt8.self))) }
        return nil
    }

    /// The body's offset and length of a fixstr or str8 (up to 255 bytes: tag values such as SQL,
    /// URLs and runtime ids) at `start` that lies whole in the input and within the limits; nil for
    /// anything else. Reads nothing outside the buffer and moves nothing: the callers' fast paths.
    @inlinable @inline(__always)
    func shortStringAt(_ start: Int) -> (body: Int, length: Int)? {
        guard start < bytes.count, let base = bytes.baseAddress,
              let (body, length) = Self.shortStringHeader(base, start, bytes.count),
              body &+ length <= bytes.count, length <= limits.maxByteLength else { return nil }
        return (body, length)
    }

    /// A fixstr or str8 read inline (see `shortStringAt`); nil with the cursor unchanged otherwise.
    @inlinable @inline(__always)
    mutating func readShortStringFast() -> ByteView? {
        guard let (body, length) = shortStringAt(offset) else { return nil }
        offset = body &+ length
        return ByteView(UnsafeRawBufferPointer(start: bytes.baseAddress! + body, count: length))
    }

    /// A str, as a view into the input.
    @inlinable @inline(__always)
    public mutating func readString() throws(MessagePackError) -> ByteView {
        if let fast = readShortStringFast() { return fast }
        return try readStringSlow()
    }

    @inlinable
    mutating func readStringSlow() throws(MessagePackError) -> ByteView {
        let start = offset
        let b = try peekByte()
        switch b {
        case 0xa0...0xbf: return try take(Int(b & 0x1f), headerSize: 1, at: start)
        case 0xd9: try need(2, at: start); return try take(Int(byte(at: start + 1)), headerSize: 2, at: start)
        case 0xda: try need(3, at: start); return try take(Int(be16(at: start + 1)), headerSize: 3, at: start)
        case 0xdb: try need(5, at: start); return try take(Int(be32(at: start + 1)), headerSize: 5, at: start)
        default: try Self.failMismatch("str", b, at: start)
        }
    }

    /// A bin, as a view into the input.
    @inlinable @inline(__always)
    public mutating func readBinary() throws(MessagePackError) -> ByteView {
        let start = offset
        let b = try peekByte()
        switch b {
        case 0xc4: try need(2, at: start); return try take(Int(byte(at: start + 1)), headerSize: 2, at: start)
        case 0xc5: try need(3, at: start); return try take(Int(be16(at: start + 1)), headerSize: 3, at: start)
        case 0xc6: try need(5, at: start); return try take(Int(be32(at: start + 1)), headerSize: 5, at: start)
        default: try Self.failMismatch("bin", b, at: start)
        }
    }

    /// A str, a bin, or nil (as empty): the Datadog Agent's tolerance where it expects a string.
    @inlinable @inline(__always)
    public mutating func readStringLike() throws(MessagePackError) -> ByteView {
        if let fast = readShortStringFast() { return fast }
        return try readStringLikeSlow()
    }

    @inlinable
    mutating func readStringLikeSlow() throws(MessagePackError) -> ByteView {
        let b = try peekByte()
        switch b {
        case 0xa0...0xbf, 0xd9...0xdb: return try readStringSlow()
        case 0xc4...0xc6: return try readBinary()
        case 0xc0: offset += 1; return .empty
        default: try Self.failMismatch("str", b, at: offset)
        }
    }

    /// Skips one str, bin or nil value (what `readStringLike` accepts), with the same checks
    /// and errors; fixstr and str8 inline.
    @inlinable @inline(__always)
    public mutating func skipStringLike() throws(MessagePackError) {
        if let (body, length) = shortStringAt(offset) {
            offset = body &+ length
        } else {
            _ = try readStringLikeSlow()
        }
    }

    /// Skips `count` consecutive str, bin or nil values (what `readStringLike` accepts), with the
    /// same checks and errors as `count` calls of `readStringLike`: how a trace decoder validates
    /// a map of string tags.
    ///
    /// The first loop takes fixstr and str8 with one comparison against the end each: it only
    /// runs while a byte follows the string (so the next header byte is always there) and when
    /// the length limit is at least 255 (so no string it takes can exceed it). Anything else, and
    /// a string that ends the buffer, goes through the checked loop.
    @inlinable
    public mutating func skipStringLikes(_ count: Int) throws(MessagePackError) {
        var at = offset
        var left = count
        let end = bytes.count
        if left > 0, at < end, limits.maxByteLength >= 255, let base = bytes.baseAddress {
            repeat {
                guard let (body, length) = Self.shortStringHeader(base, at, end) else { break }
                let next = body &+ length
                guard next < end else { break }
                at = next
                left &-= 1
            } while left > 0
        }
        while left > 0 {
            if let (body, length) = shortStringAt(at) {
                at = body &+ length
            } else {
                offset = at
                _ = try readStringLikeSlow()
                at = offset
            }
            left &-= 1
        }
        offset = at
    }

    /// An ext value: its type code and its data as a view.
    @inlinable
    public mutating func readExtension() throws(MessagePackError) -> (type: Int8, data: ByteView) {
        let start = offset
        let b = try peekByte()
        let length: Int, header: Int
        switch b {
        case 0xd4: length = 1; header = 2
        case 0xd5: length = 2; header = 2
        case 0xd6: length = 4; header = 2
        case 0xd7: length = 8; header = 2
        case 0xd8: length = 16; header = 2
        case 0xc7: try need(2, at: start); length = Int(byte(at: start + 1)); header = 3
        case 0xc8: try need(3, at: start); length = Int(be16(at: start + 1)); header = 4
        case 0xc9: try need(5, at: start); length = Int(be32(at: start + 1)); header = 6
        default: try Self.failMismatch("ext", b, at: start)
        }
        try need(header, at: start)
        let type = Int8(bitPattern: byte(at: start + header - 1))
        let data = try take(length, headerSize: header, at: start)
        return (type, data)
    }

    /// The msgpack timestamp extension (type -1; 32, 64 and 96-bit forms).
    @inlinable
    public mutating func readTimestamp() throws(MessagePackError) -> MessagePackTimestamp {
        let start = offset
        let (type, data) = try readExtension()
        guard type == -1, let ts = MessagePackTimestamp(data) else {
            offset = start
            throw MessagePackError(.typeMismatch(expected: "timestamp", found: .extension), at: start)
        }
        return ts
    }

    // MARK: - Containers

    @inlinable @inline(__always)
    func checkCount(_ count: Int, perElement: Int, headerSize: Int, at start: Int) throws(MessagePackError) {
        if count > limits.maxContainerCount {
            try Self.fail(.lengthLimitExceeded(declared: count, limit: limits.maxContainerCount), at: start)
        }
        let available = bytes.count - start - headerSize
        if count > available / perElement {
            try Self.fail(.lengthExceedsInput(declared: count, available: available), at: start)
        }
    }

    /// A fixarray (`fixBase` 0x90) or fixmap (0x80) header whose elements can fit in the bytes
    /// left and within the limit, read with one bounds check; nil with the cursor unchanged.
    @inlinable @inline(__always)
    mutating func readFixContainerFast(_ fixBase: UInt8, perElement: Int) -> Int? {
        let start = offset
        guard start < bytes.count else { return nil }
        let b = byte(at: start)
        guard b & 0xf0 == fixBase else { return nil }
        let count = Int(b & 0x0f)
        guard count <= limits.maxContainerCount, count &* perElement <= bytes.count &- start &- 1 else { return nil }
        offset = start &+ 1
        return count
    }

    /// The element count of an array; the elements follow.
    @inlinable @inline(__always)
    public mutating func readArrayHeader() throws(MessagePackError) -> Int {
        if let count = readFixContainerFast(0x90, perElement: 1) { return count }
        return try readArrayHeaderSlow()
    }

    @inlinable
    mutating func readArrayHeaderSlow() throws(MessagePackError) -> Int {
        let start = offset
        let b = try peekByte()
        let count: Int, header: Int
        switch b {
        case 0x90...0x9f: count = Int(b & 0x0f); header = 1
        case 0xdc: try need(3, at: start); count = Int(be16(at: start + 1)); header = 3
        case 0xdd: try need(5, at: start); count = Int(be32(at: start + 1)); header = 5
        default: try Self.failMismatch("array", b, at: start)
        }
        try checkCount(count, perElement: 1, headerSize: header, at: start)
        offset = start + header
        return count
    }

    /// The entry count of a map; key, value, key, value… follow.
    @inlinable @inline(__always)
    public mutating func readMapHeader() throws(MessagePackError) -> Int {
        if let count = readFixContainerFast(0x80, perElement: 2) { return count }
        return try readMapHeaderSlow()
    }

    /// Any map header, checked; out of line so that the fixmap path stays small where it is inlined.
    @inlinable
    mutating func readMapHeaderSlow() throws(MessagePackError) -> Int {
        let start = offset
        let b = try peekByte()
        let count: Int, header: Int
        switch b {
        case 0x80...0x8f: count = Int(b & 0x0f); header = 1
        case 0xde: try need(3, at: start); count = Int(be16(at: start + 1)); header = 3
        case 0xdf: try need(5, at: start); count = Int(be32(at: start + 1)); header = 5
        default: try Self.failMismatch("map", b, at: start)
        }
        try checkCount(count, perElement: 2, headerSize: header, at: start)
        offset = start + header
        return count
    }

    /// A map header, or nil (as an empty map): the Agent's tolerance for empty meta/metrics.
    @inlinable @inline(__always)
    public mutating func readMapHeaderOrNil() throws(MessagePackError) -> Int {
        if let count = readFixContainerFast(0x80, perElement: 2) { return count }
        if try peekByte() == 0xc0 { offset += 1; return 0 }
        return try readMapHeader()
    }

    /// An array header, or nil (as an empty array).
    @inlinable
    public mutating func readArrayHeaderOrNil() throws(MessagePackError) -> Int {
        if try peekByte() == 0xc0 { offset += 1; return 0 }
        return try readArrayHeader()
    }

    // MARK: - Skipping

    /// Rejects a container (empty or not) that would sit at nesting `level` (1 = the top-level
    /// value) beyond `limits.maxDepth`. msgpack-c refuses any container header, even an empty one,
    /// once 32 containers are open (its embedded stack); counting the same way keeps both
    /// decoders in agreement at the boundary.
    @inlinable @inline(__always)
    func checkDepth(_ level: Int, at start: Int) throws(MessagePackError) {
        if level > limits.maxDepth {
            throw MessagePackError(.depthLimitExceeded(limit: limits.maxDepth), at: start)
        }
    }

    /// Skips one value of any type, containers included, without materialising anything.
    ///
    /// Iterative (a pending-element counter per level, no recursion), bounded by `limits.maxDepth`
    /// counted from `depth`, the nesting level the value sits at.
    @inlinable
    public mutating func skipValue(depth: Int = 0) throws(MessagePackError) {
        // Elements still to skip; containers push their element count. A fixed-size stack keeps it
        // allocation-free; depth is bounded by limits.maxDepth.
        var pending = 1
        var stack: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
        var overflow: [Int] = []
        var level = 0
        while true {
            while pending == 0 {
                if level == 0 { return }
                level -= 1
                if level < 8 {
                    pending = withUnsafeMutableBytes(of: &stack) { $0.load(fromByteOffset: level * 8, as: Int.self) }
                } else {
                    pending = overflow.removeLast()
                }
            }
            pending -= 1
            let start = offset
            let b = try peekByte()
            var children = 0
            switch b {
            case 0x00...0x7f, 0xe0...0xff, 0xc0, 0xc2, 0xc3: offset += 1
            case 0xcc, 0xd0: try need(2, at: start); offset += 2
            case 0xcd, 0xd1: try need(3, at: start); offset += 3
            case 0xce, 0xd2, 0xca: try need(5, at: start); offset += 5
            case 0xcf, 0xd3, 0xcb: try need(9, at: start); offset += 9
            case 0xa0...0xbf, 0xd9...0xdb: _ = try readString()
            case 0xc4...0xc6: _ = try readBinary()
            case 0xc7...0xc9, 0xd4...0xd8: _ = try readExtension()
            case 0x90...0x9f, 0xdc, 0xdd:
                try checkDepth(depth + level + 1, at: start)
                children = try readArrayHeader()
            case 0x80...0x8f, 0xde, 0xdf:
                try checkDepth(depth + level + 1, at: start)
                children = try readMapHeader() * 2
            default: throw MessagePackError(.invalidByte(b), at: start)
            }
            // Only non-empty containers open a level: an empty one is complete at once.
            if children > 0 {
                if level < 8 {
                    let saved = pending
                    withUnsafeMutableBytes(of: &stack) { $0.storeBytes(of: saved, toByteOffset: level * 8, as: Int.self) }
                } else {
                    overflow.append(pending)
                }
                level += 1
                pending = children
            }
        }
    }

    /// Returns the raw bytes of the next value (for keeping a sub-document, e.g. span_links) and skips it.
    @inlinable
    public mutating func readRawValue(depth: Int = 0) throws(MessagePackError) -> ByteView {
        let start = offset
        try skipValue(depth: depth)
        return ByteView(UnsafeRawBufferPointer(rebasing: bytes[start..<offset]))
    }
}
