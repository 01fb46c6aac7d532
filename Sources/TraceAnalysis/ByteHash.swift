import MessagePack

/// FNV-1a, 64 bits: a cheap, allocation-free identity for short strings on the hot path.
///
/// Used to key per-payload aggregation by small value types instead of copied strings. Distinct
/// strings colliding on all 64 bits within one rule's groups is negligible for the few thousand
/// groups a report holds; the cached strings are still compared byte for byte (`StringCache`).
@inlinable
func fnv1a(_ v: ByteView) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in v.base { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    return h
}

/// Strings copied out of payloads, kept across payloads so that steady traffic does not copy the
/// same service or operation name again and again. Bounded: cleared when full.
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
