import MessagePack
import SeededRandom

/// Random msgpack documents of every type and encoding width, written byte by byte (so that
/// non-minimal encodings such as a 3-byte string in str32 are produced too), with the value each
/// encodes.
struct DocumentGenerator {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int<T: FixedWidthInteger>(_: T.Type) -> T { T.random(in: T.min...T.max, using: &rng) }
    mutating func chance(_ oneIn: Int) -> Bool { Int.random(in: 0..<oneIn, using: &rng) == 0 }
    mutating func bytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) } }

    /// Mostly short lengths, sometimes past the 8- and 16-bit boundaries.
    mutating func length(max: Int = 300) -> Int {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return Int.random(in: 0...max, using: &rng)
        case 1: return [0, 15, 16, 31, 32, 255, 256].randomElement(using: &rng)!
        default: return Int.random(in: 0...8, using: &rng)
        }
    }

    static func be<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

    /// One document: its bytes and the value it holds.
    mutating func document(maxDepth: Int = 4) -> (bytes: [UInt8], value: MessagePackValue) {
        var out: [UInt8] = []
        let v = value(depth: maxDepth, into: &out)
        return (out, v)
    }

    mutating func value(depth: Int, into out: inout [UInt8]) -> MessagePackValue {
        let kinds = depth > 0 ? 30 : 24
        switch Int.random(in: 0..<kinds, using: &rng) {
        case 0: out.append(0xc0); return .nil
        case 1: let b = Bool.random(using: &rng); out.append(b ? 0xc3 : 0xc2); return .bool(b)
        case 2: let v = UInt8.random(in: 0...0x7f, using: &rng); out.append(v); return .uint(UInt64(v))
        case 3: let v = Int8.random(in: -32 ... -1, using: &rng); out.append(UInt8(bitPattern: v)); return .int(Int64(v))
        case 4: let v = int(UInt8.self); out += [0xcc, v]; return .uint(UInt64(v))
        case 5: let v = int(UInt16.self); out += [0xcd] + Self.be(v); return .uint(UInt64(v))
        case 6: let v = int(UInt32.self); out += [0xce] + Self.be(v); return .uint(UInt64(v))
        case 7: let v = chance(4) ? UInt64.max - UInt64.random(in: 0...3, using: &rng) : int(UInt64.self); out += [0xcf] + Self.be(v); return .uint(v)
        case 8: let v = int(Int8.self); out += [0xd0] + Self.be(v); return Self.integer(Int64(v))
        case 9: let v = int(Int16.self); out += [0xd1] + Self.be(v); return Self.integer(Int64(v))
        case 10: let v = int(Int32.self); out += [0xd2] + Self.be(v); return Self.integer(Int64(v))
        case 11: let v = chance(4) ? Int64.min : int(Int64.self); out += [0xd3] + Self.be(v); return Self.integer(v)
        case 12:
            let bits = chance(3) ? [0x7fc0_0000, 0x7fa0_0001, 0x7f80_0000, 0x8000_0000, 0].randomElement(using: &rng)! : int(UInt32.self)
            out += [0xca] + Self.be(bits); return .float32(Float(bitPattern: bits))
        case 13:
            let bits = chance(3) ? [0x7ff8_0000_0000_0000, 0x7ff0_0000_0000_0001, 0xfff0_0000_0000_0000, 0x8000_0000_0000_0000].randomElement(using: &rng)! : int(UInt64.self)
            out += [0xcb] + Self.be(bits); return .float64(Double(bitPattern: bits))
        case 14, 15: // str in each of its four forms
            let n = length()
            let s = bytes(n)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0 where n < 32: out.append(0xa0 | UInt8(n))
            case 1 where n < 256: out += [0xd9, UInt8(n)]
            case 2: out += [0xda] + Self.be(UInt16(n))
            default: out += [0xdb] + Self.be(UInt32(n))
            }
            out += s; return .string(s)
        case 16: // bin8/16/32
            let n = length()
            let s = bytes(n)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where n < 256: out += [0xc4, UInt8(n)]
            case 1: out += [0xc5] + Self.be(UInt16(n))
            default: out += [0xc6] + Self.be(UInt32(n))
            }
            out += s; return .binary(s)
        case 17: // fixext 1/2/4/8/16
            let (header, n) = [(0xd4, 1), (0xd5, 2), (0xd6, 4), (0xd7, 8), (0xd8, 16)].randomElement(using: &rng)!
            let t = int(Int8.self), d = bytes(n)
            out += [UInt8(header), UInt8(bitPattern: t)] + d; return .extension(type: t, data: d)
        case 18: // ext8/16/32, including zero-length data
            let n = length(max: 40)
            let t = int(Int8.self), d = bytes(n)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where n < 256: out += [0xc7, UInt8(n)]
            case 1: out += [0xc8] + Self.be(UInt16(n))
            default: out += [0xc9] + Self.be(UInt32(n))
            }
            out += [UInt8(bitPattern: t)] + d; return .extension(type: t, data: d)
        case 19, 20: // timestamps: 32, 64 and 96-bit, valid or with too many nanoseconds
            let d: [UInt8]
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: d = Self.be(int(UInt32.self)); out += [0xd6, 0xff]
            case 1: d = Self.be(UInt64(UInt32.random(in: 0...1_073_741_823, using: &rng)) << 34 | UInt64.random(in: 0...0x3_ffff_ffff, using: &rng)); out += [0xd7, 0xff]
            default: d = Self.be(UInt32.random(in: 0...1_100_000_000, using: &rng)) + Self.be(int(Int64.self)); out += [0xc7, 12, 0xff]
            }
            out += d; return .extension(type: -1, data: d)
        case 21: out.append(0xa0); return .string([])
        case 22: out.append(0x90); return .array([])
        case 23: out.append(0x80); return .map([])
        case 24, 25, 26: // arrays: fixarray, array16, array32
            let n = Int.random(in: 0...(chance(8) ? 20 : 5), using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where n < 16: out.append(0x90 | UInt8(n))
            case 1: out += [0xdc] + Self.be(UInt16(n))
            default: out += [0xdd] + Self.be(UInt32(n))
            }
            return .array((0..<n).map { _ in value(depth: depth - 1, into: &out) })
        default: // maps: fixmap, map16, map32; keys of any type
            let n = Int.random(in: 0...(chance(8) ? 18 : 5), using: &rng)
            switch Int.random(in: 0..<3, using: &rng) {
            case 0 where n < 16: out.append(0x80 | UInt8(n))
            case 1: out += [0xde] + Self.be(UInt16(n))
            default: out += [0xdf] + Self.be(UInt32(n))
            }
            return .map((0..<n).map { _ in
                let k = value(depth: depth - 1, into: &out)
                return (k, value(depth: depth - 1, into: &out))
            })
        }
    }

    /// msgpack-c's classification: a non-negative value is a positive integer whatever its encoding.
    static func integer(_ v: Int64) -> MessagePackValue { v < 0 ? .int(v) : .uint(UInt64(v)) }

    /// `levels` nested containers (arrays or maps, chosen at random) around `inner`.
    mutating func nested(levels: Int, inner: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for _ in 0..<levels {
            // [ … ] or {"k": … }: msgpack needs no closing bytes.
            out += Bool.random(using: &rng) ? [0x91] : [0x81, 0xa1, 0x6b]
        }
        return out + inner
    }

    /// A damaged copy of `doc`: truncated, bytes flipped, a huge length spliced in, trailing
    /// bytes, the unused byte 0xc1, or a random splice.
    mutating func mutate(_ doc: [UInt8]) -> [UInt8] {
        var d = doc
        let hugeHeaders: [[UInt8]] = [
            [0xdb, 0xff, 0xff, 0xff, 0xff], [0xdb, 0x7f, 0xff, 0xff, 0xff], [0xda, 0xff, 0xff],
            [0xc6, 0xff, 0xff, 0xff, 0xff], [0xc5, 0x10, 0x00], [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01],
            [0xdd, 0xff, 0xff, 0xff, 0xff], [0xdd, 0x00, 0x10, 0x00, 0x00], [0xdc, 0xff, 0xff],
            [0xdf, 0xff, 0xff, 0xff, 0xff], [0xdf, 0x00, 0x01, 0x00, 0x00], [0xde, 0xff, 0xff],
            [0xd9, 0xff], [0xc4, 0xff], [0xc7, 0xff, 0x00],
        ]
        switch Int.random(in: 0..<8, using: &rng) {
        case 0: // truncation
            if !d.isEmpty { d.removeLast(Int.random(in: 1...d.count, using: &rng)) }
        case 1, 2: // flipped bytes
            for _ in 0..<Int.random(in: 1...3, using: &rng) where !d.isEmpty {
                let i = Int.random(in: 0..<d.count, using: &rng)
                d[i] = Bool.random(using: &rng) ? d[i] ^ (1 << UInt8.random(in: 0...7, using: &rng)) : int(UInt8.self)
            }
        case 3: // a huge declared length, at the start or anywhere
            let h = hugeHeaders.randomElement(using: &rng)!
            let i = chance(2) ? 0 : Int.random(in: 0...d.count, using: &rng)
            d.insert(contentsOf: h, at: i)
        case 4: // a header overwritten with a huge one
            let h = hugeHeaders.randomElement(using: &rng)!
            let i = Int.random(in: 0...d.count, using: &rng)
            d.replaceSubrange(i..<min(d.count, i + h.count), with: h)
        case 5: // trailing bytes
            d += bytes(Int.random(in: 1...4, using: &rng))
        case 6: // 0xc1 somewhere
            d.insert(0xc1, at: Int.random(in: 0...d.count, using: &rng))
        default: // a random slice moved elsewhere
            guard d.count > 1 else { d = bytes(Int.random(in: 0...12, using: &rng)); break }
            let a = Int.random(in: 0..<d.count, using: &rng), b = Int.random(in: a...d.count, using: &rng)
            let slice = Array(d[a..<b])
            d.insert(contentsOf: slice, at: Int.random(in: 0...d.count, using: &rng))
        }
        return d
    }
}
