/// A map from 64-bit hashes to slots (or other 64-bit values), by open addressing on the hash itself: what the hot
/// path needs where `Dictionary<UInt64, Int>` spends most of a lookup in SipHash (the standard
/// library's per-process seeded hasher) on a key that is already a well-mixed hash (`byteHash`).
/// A lookup is a mask, a load and a compare (Benchmarks/RESULTS.md "Analysis").
///
/// Keys are hashes of strings, so distinct keys are distinct strings up to a 64-bit collision (as
/// everywhere the analysis groups by hash). Grows at half full; `removeAll` keeps the storage.
struct HashIndex {
    /// Key 0 marks an empty bucket; a real key 0 is stored as `zeroKey` (the two are then one
    /// key: a 64-bit coincidence, as for any two hashes).
    private static let zeroKey: UInt64 = 0x9E37_79B9_7F4A_7C15
    private var keys: [UInt64]
    private var slots: [Int]
    private(set) var count = 0

    init(capacity: Int = 64) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        keys = Array(repeating: 0, count: n)
        slots = Array(repeating: 0, count: n)
    }

    var isEmpty: Bool { count == 0 }

    @inline(__always)
    subscript(key: UInt64) -> Int? {
        let k = key == 0 ? Self.zeroKey : key
        let mask = keys.count &- 1
        var i = Int(truncatingIfNeeded: k ^ (k >> 29)) & mask
        while true {
            let found = keys[i]
            if found == k { return slots[i] }
            if found == 0 { return nil }
            i = (i &+ 1) & mask
        }
    }

    /// Sets `key`'s slot (adding the key when new).
    mutating func set(_ key: UInt64, _ slot: Int) {
        if (count + 1) * 2 > keys.count { grow() }
        let k = key == 0 ? Self.zeroKey : key
        let mask = keys.count &- 1
        var i = Int(truncatingIfNeeded: k ^ (k >> 29)) & mask
        while keys[i] != 0 && keys[i] != k { i = (i &+ 1) & mask }
        if keys[i] == 0 { count += 1 }
        keys[i] = k
        slots[i] = slot
    }

    mutating func removeAll() {
        guard count > 0 else { return }
        for i in keys.indices { keys[i] = 0 }
        count = 0
    }

    private mutating func grow() {
        let old = keys, oldSlots = slots
        keys = Array(repeating: 0, count: old.count * 2)
        slots = Array(repeating: 0, count: old.count * 2)
        count = 0
        for i in old.indices where old[i] != 0 { set(old[i], oldSlots[i]) }
    }
}
