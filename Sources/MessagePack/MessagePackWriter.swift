/// Appends msgpack to a byte array: the counterpart of `MessagePackReader`, for building payloads
/// (tests, fuzz seeds, the benchmarks' generated payload, the replay tool).
///
/// The typed `write…` methods choose the smallest encoding, as msgpack-c and Python's msgpack do
/// (a non-negative integer is always written as a positive int, whatever its Swift type).
/// `writeRaw` appends bytes as they are, for deliberately odd or broken documents.
public struct MessagePackWriter: Sendable {
    public var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    mutating func appendBigEndian<T: FixedWidthInteger>(_ v: T) {
        var be = v.bigEndian
        withUnsafeBytes(of: &be) { bytes.append(contentsOf: $0) }
    }

    public mutating func writeRaw(_ raw: some Sequence<UInt8>) { bytes.append(contentsOf: raw) }

    public mutating func writeNil() { bytes.append(0xc0) }

    public mutating func write(_ v: Bool) { bytes.append(v ? 0xc3 : 0xc2) }

    public mutating func write(_ v: UInt64) {
        switch v {
        case 0...0x7f: bytes.append(UInt8(v))
        case 0x80...0xff: bytes.append(0xcc); bytes.append(UInt8(v))
        case 0x100...0xffff: bytes.append(0xcd); appendBigEndian(UInt16(v))
        case 0x1_0000...0xffff_ffff: bytes.append(0xce); appendBigEndian(UInt32(v))
        default: bytes.append(0xcf); appendBigEndian(v)
        }
    }

    public mutating func write(_ v: Int64) {
        if v >= 0 { write(UInt64(v)); return }
        switch v {
        case -32 ..< 0: bytes.append(UInt8(bitPattern: Int8(v)))
        case -0x80 ..< -32: bytes.append(0xd0); bytes.append(UInt8(bitPattern: Int8(v)))
        case -0x8000 ..< -0x80: bytes.append(0xd1); appendBigEndian(Int16(v))
        case -0x8000_0000 ..< -0x8000: bytes.append(0xd2); appendBigEndian(Int32(v))
        default: bytes.append(0xd3); appendBigEndian(v)
        }
    }

    public mutating func write(_ v: Int) { write(Int64(v)) }

    public mutating func write(_ v: Double) { bytes.append(0xcb); appendBigEndian(v.bitPattern) }

    public mutating func write(_ v: Float) { bytes.append(0xca); appendBigEndian(v.bitPattern) }

    public mutating func writeStringHeader(_ count: Int) {
        switch count {
        case 0...31: bytes.append(0xa0 | UInt8(count))
        case 32...0xff: bytes.append(0xd9); bytes.append(UInt8(count))
        case 0x100...0xffff: bytes.append(0xda); appendBigEndian(UInt16(count))
        default: bytes.append(0xdb); appendBigEndian(UInt32(truncatingIfNeeded: count))
        }
    }

    public mutating func writeString(_ s: String) {
        var s = s
        s.withUTF8 { writeString(bytes: $0) }
    }

    public mutating func writeString(bytes utf8: some Collection<UInt8>) {
        writeStringHeader(utf8.count)
        bytes.append(contentsOf: utf8)
    }

    public mutating func writeBinaryHeader(_ count: Int) {
        switch count {
        case 0...0xff: bytes.append(0xc4); bytes.append(UInt8(count))
        case 0x100...0xffff: bytes.append(0xc5); appendBigEndian(UInt16(count))
        default: bytes.append(0xc6); appendBigEndian(UInt32(truncatingIfNeeded: count))
        }
    }

    public mutating func writeBinary(_ data: some Collection<UInt8>) {
        writeBinaryHeader(data.count)
        bytes.append(contentsOf: data)
    }

    public mutating func writeArrayHeader(_ count: Int) {
        switch count {
        case 0...15: bytes.append(0x90 | UInt8(count))
        case 16...0xffff: bytes.append(0xdc); appendBigEndian(UInt16(count))
        default: bytes.append(0xdd); appendBigEndian(UInt32(truncatingIfNeeded: count))
        }
    }

    public mutating func writeMapHeader(_ count: Int) {
        switch count {
        case 0...15: bytes.append(0x80 | UInt8(count))
        case 16...0xffff: bytes.append(0xde); appendBigEndian(UInt16(count))
        default: bytes.append(0xdf); appendBigEndian(UInt32(truncatingIfNeeded: count))
        }
    }

    public mutating func writeExtension(type: Int8, data: some Collection<UInt8>) {
        let t = UInt8(bitPattern: type)
        switch data.count {
        case 1: bytes.append(0xd4)
        case 2: bytes.append(0xd5)
        case 4: bytes.append(0xd6)
        case 8: bytes.append(0xd7)
        case 16: bytes.append(0xd8)
        case 0...0xff: bytes.append(0xc7); bytes.append(UInt8(data.count))
        case 0x100...0xffff: bytes.append(0xc8); appendBigEndian(UInt16(data.count))
        default: bytes.append(0xc9); appendBigEndian(UInt32(truncatingIfNeeded: data.count))
        }
        bytes.append(t)
        bytes.append(contentsOf: data)
    }

    /// The timestamp extension (-1) in its smallest form (32, 64 or 96 bits), as the spec says.
    public mutating func writeTimestamp(_ t: MessagePackTimestamp) {
        var data: [UInt8] = []
        func be<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.bigEndian) { data.append(contentsOf: $0) } }
        if t.seconds >= 0 && t.seconds >> 34 == 0 {
            if t.nanoseconds == 0 && t.seconds <= 0xffff_ffff {
                be(UInt32(t.seconds))
            } else {
                be(UInt64(t.nanoseconds) << 34 | UInt64(t.seconds))
            }
        } else {
            be(t.nanoseconds)
            be(t.seconds)
        }
        writeExtension(type: -1, data: data)
    }

    /// A whole value tree, each part in its smallest encoding.
    public mutating func write(_ value: MessagePackValue) {
        switch value {
        case .nil: writeNil()
        case .bool(let b): write(b)
        case .int(let i): write(i)
        case .uint(let u): write(u)
        case .float32(let f): write(f)
        case .float64(let d): write(d)
        case .string(let s): writeString(bytes: s)
        case .binary(let b): writeBinary(b)
        case .array(let items):
            writeArrayHeader(items.count)
            for item in items { write(item) }
        case .map(let entries):
            writeMapHeader(entries.count)
            for (k, v) in entries { write(k); write(v) }
        case .extension(let type, let data): writeExtension(type: type, data: data)
        }
    }

    /// The msgpack encoding of one value.
    public static func encode(_ value: MessagePackValue) -> [UInt8] {
        var w = MessagePackWriter()
        w.write(value)
        return w.bytes
    }
}

extension MessagePackValue {
    /// The timestamp this value holds, if it is a well-formed timestamp extension (type -1).
    public var timestamp: MessagePackTimestamp? {
        guard case .extension(-1, let data) = self else { return nil }
        return data.withUnsafeBytes { MessagePackTimestamp(ByteView($0)) }
    }
}
