import MessagePack

/// A 64-bit hash read a word at a time: a cheap, allocation-free identity for strings on the hot path.
///
/// Used to key per-payload aggregation by small value types instead of copied strings. Distinct
/// strings colliding on all 64 bits within one rule's groups is negligible for the few thousand
/// groups a report holds; the cached strings are still compared byte for byte (`StringCache`).
/// Eight bytes per multiply (the last word overlapping the one before it, the length mixed in
/// first) instead of FNV-1a's one: resources and SQL queries are tens to hundreds of bytes, and
/// with `PythonRepr`'s last-byte test and the ASCII language compare this cut a Django payload's
/// analysis by 16–20 % (Benchmarks/RESULTS.md "Analysis").
@inlinable
func byteHash(_ v: ByteView) -> UInt64 {
    let p = v.base
    let n = p.count
    var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
    if n >= 8 {
        var i = 0
        while i + 8 < n {
            h = hashMix(h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        h = hashMix(h ^ p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
    } else if n >= 4 {
        // Two overlapping halves cover every byte; the length (mixed in above) tells them apart.
        let lo = UInt64(p.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let hi = UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        h = hashMix(h ^ (lo | hi << 32))
    } else if n > 0 {
        h = hashMix(h ^ (UInt64(p[0]) | UInt64(p[n / 2]) << 8 | UInt64(p[n - 1]) << 16))
    }
    return hashMix(h)
}

/// A cheaper hash for the keys and names the canary profile reads on every span (most are at
/// most 16 bytes): the first and last eight bytes (which cover every byte up to 16, the length
/// telling overlaps apart) in two multiplies, inlined; longer strings go to `byteHash`. Its values
/// differ from `byteHash`'s: a table keeps to one of the two.
@inlinable @inline(__always)
func shortHash(_ v: ByteView) -> UInt64 {
    v.count > 16 ? byteHash(v) : hashMix(v.edgeWords)
}

/// One multiply and a fold of the high half into the low one (the multiply only carries upwards).
@inlinable @inline(__always)
func hashMix(_ x: UInt64) -> UInt64 {
    let y = x &* 0x9E37_79B9_7F4A_7C15
    return y ^ (y >> 32)
}

/// `byteHash` of an empty view, a constant (`byteHash` mixes the length in first, then nothing else).
@inlinable @inline(__always)
var emptyByteHash: UInt64 { hashMix(0xcbf2_9ce4_8422_2325) }

/// `byteHash` of the strings a span's judging hashes (the app, and the service, operation,
/// resource and key of a finding), remembered by address on v0.5 payloads.
///
/// A v0.5 span names its strings by string-table index, so the same service, operation or SQL
/// resource is the same bytes at the same address in every span of the payload, and its hash
/// (a multiply per eight bytes: tens for a query) is worked out once per payload instead of once
/// per span. A v0.4 payload repeats the bytes in every span, at other addresses: there the memo is
/// off (`begin(addresses:)`, as on v0.5 payloads under `AnalysisLimits.rememberedFromBytes`) and
/// an empty view costs no hash either way. Direct-mapped, 256
/// entries (`AnalysisLimits.hashesRemembered`), each checked by address, length and payload number,
/// so that a collision only costs the hash.
struct SpanStringHashes {
    struct Entry {
        var address: UInt = 0
        var count = 0
        var generation: UInt32 = 0
        var hash: UInt64 = 0
    }
    private var entries = [Entry](repeating: Entry(), count: AnalysisLimits.hashesRemembered)
    private var generation: UInt32 = 0
    private var remembering = false

    /// A new payload; `addresses`: whether equal addresses mean equal strings worth remembering (v0.5).
    mutating func begin(addresses: Bool) {
        remembering = addresses
        guard addresses else { return }
        generation &+= 1
        if generation == 0 {
            for i in entries.indices { entries[i].generation = 0 }
            generation = 1
        }
    }

    /// `byteHash(v)`.
    @inline(__always)
    mutating func hash(_ v: ByteView) -> UInt64 {
        if v.isEmpty { return emptyByteHash }
        guard remembering else { return byteHash(v) }
        let a = UInt(bitPattern: v.base.baseAddress)
        let i = Int(truncatingIfNeeded: a ^ (a >> 8)) & (AnalysisLimits.hashesRemembered - 1)
        if entries[i].address == a && entries[i].count == v.count && entries[i].generation == generation { return entries[i].hash }
        return remember(v, at: i, address: a)
    }

    @inline(never)
    private mutating func remember(_ v: ByteView, at i: Int, address: UInt) -> UInt64 {
        let h = byteHash(v)
        entries[i] = Entry(address: address, count: v.count, generation: generation, hash: h)
        return h
    }
}

/// `byteHash` of a string's UTF-8 bytes (the same value as `byteHash(ByteView)` of those bytes).
func byteHash(_ s: String) -> UInt64 {
    var s = s
    return s.withUTF8 { byteHash(ByteView(UnsafeRawBufferPointer($0))) }
}

struct StringCache {
    private var table: [UInt64: String] = [:]
    let limit: Int

    init(limit: Int = 8192) { self.limit = limit }

    mutating func string(_ v: ByteView, hash: UInt64) -> String {
        if let s = table[hash], Self.same(s, v) { return s }
        let s = v.string
        if table.count >= limit { table.removeAll(keepingCapacity: true) }
        table[hash] = s
        return s
    }

    static func same(_ s: String, _ v: ByteView) -> Bool {
        let u = s.utf8
        guard u.count == v.count else { return false }
        if let r = u.withContiguousStorageIfAvailable({ buf -> Bool in
            v.count == 0 || memcmp(buf.baseAddress!, v.base.baseAddress!, v.count) == 0
        }) { return r }
        return Array(u) == Array(v.base)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
