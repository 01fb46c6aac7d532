/// The msgpack timestamp extension type (-1): 32-bit seconds, 64-bit (30-bit nanoseconds +
/// 34-bit seconds) or 96-bit (32-bit nanoseconds + signed 64-bit seconds).
public struct MessagePackTimestamp: Equatable, Sendable {
    public var seconds: Int64
    public var nanoseconds: UInt32

    public init(seconds: Int64, nanoseconds: UInt32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    @inlinable
    public init?(_ data: ByteView) {
        let p = data.base
        switch p.count {
        case 4:
            seconds = Int64(UInt32(bigEndian: p.loadUnaligned(as: UInt32.self)))
            nanoseconds = 0
        case 8:
            let v = UInt64(bigEndian: p.loadUnaligned(as: UInt64.self))
            nanoseconds = UInt32(truncatingIfNeeded: v >> 34)
            seconds = Int64(v & 0x3_ffff_ffff)
        case 12:
            nanoseconds = UInt32(bigEndian: p.loadUnaligned(as: UInt32.self))
            seconds = Int64(bitPattern: UInt64(bigEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt64.self)))
        default:
            return nil
        }
        if nanoseconds >= 1_000_000_000 { return nil }
    }
}

/// A fully materialised msgpack value: what the caller asks for when it wants a tree (meta_struct
/// contents, JSON rendering, differential tests). The trace decoder itself never builds one.
///
/// Integers are normalised the way msgpack-c classifies them: non-negative values are `.uint`
/// whatever their encoding, negative ones `.int`.
public indirect enum MessagePackValue: Equatable, Sendable {
    case `nil`
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case float32(Float)
    case float64(Double)
    case string([UInt8])
    case binary([UInt8])
    case array([MessagePackValue])
    case map([(MessagePackValue, MessagePackValue)])
    case `extension`(type: Int8, data: [UInt8])

    public static func == (lhs: MessagePackValue, rhs: MessagePackValue) -> Bool {
        switch (lhs, rhs) {
        case (.nil, .nil): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.uint(a), .uint(b)): return a == b
        case let (.float32(a), .float32(b)): return a.bitPattern == b.bitPattern
        case let (.float64(a), .float64(b)): return a.bitPattern == b.bitPattern
        case let (.string(a), .string(b)): return a == b
        case let (.binary(a), .binary(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.map(a), .map(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.extension(t1, d1), .extension(t2, d2)): return t1 == t2 && d1 == d2
        default: return false
        }
    }
}

extension MessagePackReader {
    /// Reads one value into a tree. Bounded like every read: depth by `limits.maxDepth`, lengths
    /// against the bytes left (so the memory built is at most proportional to the input).
    public mutating func readValue(depth: Int = 0) throws(MessagePackError) -> MessagePackValue {
        let start = offset
        let b = try peekByte()
        switch b {
        case 0xc0: offset += 1; return .nil
        case 0xc2, 0xc3: return .bool(try readBool())
        case 0x00...0x7f, 0xe0...0xff, 0xcc...0xd3:
            let (bits, negative) = try readIntegerBits()
            return negative ? .int(Int64(bitPattern: bits)) : .uint(bits)
        case 0xca:
            try need(5, at: start); offset += 5
            return .float32(Float(bitPattern: be32(at: start + 1)))
        case 0xcb: return .float64(try readDouble())
        case 0xa0...0xbf, 0xd9...0xdb: return .string(try readString().bytes)
        case 0xc4...0xc6: return .binary(try readBinary().bytes)
        case 0xc7...0xc9, 0xd4...0xd8:
            let (type, data) = try readExtension()
            return .extension(type: type, data: data.bytes)
        case 0x90...0x9f, 0xdc, 0xdd:
            try checkDepth(depth + 1, at: start)
            let count = try readArrayHeader()
            var items: [MessagePackValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(depth: depth + 1)) }
            return .array(items)
        case 0x80...0x8f, 0xde, 0xdf:
            try checkDepth(depth + 1, at: start)
            let count = try readMapHeader()
            var entries: [(MessagePackValue, MessagePackValue)] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let k = try readValue(depth: depth + 1)
                let v = try readValue(depth: depth + 1)
                entries.append((k, v))
            }
            return .map(entries)
        default:
            throw MessagePackError(.invalidByte(b), at: start)
        }
    }

    /// Decodes a whole buffer that must hold exactly one value.
    public static func decode(_ bytes: UnsafeRawBufferPointer, limits: MessagePackLimits = .default) throws(MessagePackError) -> MessagePackValue {
        var reader = MessagePackReader(bytes: bytes, limits: limits)
        let value = try reader.readValue()
        if !reader.isAtEnd { throw MessagePackError(.trailingBytes(count: reader.remaining), at: reader.offset) }
        return value
    }
}
