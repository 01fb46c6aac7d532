import CompatReport
import CompatRules
import MessagePack
import TracePayload

/// The canary profiles (V4-CANARY-DIFF) one analyzer folds between two hand-overs: per
/// application and tracer major version, traces, spans per operation and the meta / metrics keys
/// on them, keyed by hashes so that a known operation and key set cost a lookup and no allocation.
///
/// Keys are counted by **key set**, not key by key: the spans of one operation nearly always carry
/// the same keys (an integration writes the same tags on every span), so the analyzer's one meta
/// walk and one metrics walk sum the keys' `byteHash` (`KeySignature`) and a span whose set was
/// seen before costs one comparison per set held and an increment. The keys themselves are read
/// (a second walk) only for a set not seen before; at the hand-over each set's span count is added
/// to each of its keys, which gives exactly the per-key counts a per-key walk gives. Counting key
/// by key on every span (a hash lookup per key, a second walk of every map) doubled the analysis
/// (Benchmarks/RESULTS.md "Analysis").
///
/// Bounded per hand-over by `CanaryLimits` (operations and keys beyond go to "other", as the
/// store does; key sets beyond `CanaryLimits.keySets` per operation are counted key by key);
/// applications are the analyzer's bounded app slots.
struct CanaryAccumulator {
    /// The order-independent signature of a span's key set: the sum of its keys' `byteHash`, and
    /// the number of keys. Two different sets colliding on all 64 bits of the sum and on the count
    /// is as negligible as the 64-bit key hashes the rest of the analysis groups by.
    struct KeySignature: Equatable {
        var sum: UInt64 = 0
        var count = 0

        @inline(__always)
        mutating func add(_ key: ByteView) { add(hash: shortHash(key)) }

        /// Adds a key by its `shortHash`, when the walk has it already.
        @inline(__always)
        mutating func add(hash: UInt64) { sum &+= hash; count &+= 1 }
    }

    struct Operation {
        var op: CanaryOperation
        var meta = Keys()
        var metrics = Keys()
    }

    /// One key set of an operation: the slots of its keys in `Keys.counts` and the spans seen with it.
    struct KeySet {
        var signature: KeySignature
        var slots: [Int]
        var spans: Int
    }

    /// Keys counted in first-seen order (beyond `CanaryLimits.keys`, in key "other"): by key set,
    /// or key by key once an operation has more than `CanaryLimits.keySets` sets.
    struct Keys {
        var index: [UInt64: Int] = [:]
        var counts: [(String, Int)] = []
        var sets: [KeySet] = []

        /// Counts one span whose keys have `signature`; `walk` visits the keys, and is called only
        /// for a set not seen before.
        @inline(__always)
        mutating func count(_ signature: KeySignature, walk: ((ByteView) -> Void) -> Void) {
            if signature.count == 0 { return }
            for i in sets.indices where sets[i].signature == signature {
                sets[i].spans += 1
                return
            }
            countNew(signature, walk: walk)
        }

        /// `count` for a key set not seen before (cold: out of the span's path).
        @inline(never)
        mutating func countNew(_ signature: KeySignature, walk: ((ByteView) -> Void) -> Void) {
            if sets.count < CanaryLimits.keySets {
                var slots: [Int] = []
                slots.reserveCapacity(signature.count)
                walk { slots.append(slot($0)) }
                sets.append(KeySet(signature: signature, slots: slots, spans: 1))
            } else {
                walk { let s = slot($0); counts[s].1 += 1 }
            }
        }

        /// The slot of key `k` in `counts` (added with count 0 when new, or "other" when full).
        mutating func slot(_ k: ByteView) -> Int {
            let h = byteHash(k)
            if let i = index[h] { return i }
            if counts.count < CanaryLimits.keys {
                index[h] = counts.count
                counts.append((k.string, 0))
                return counts.count - 1
            }
            let other = byteHash(ReportLimits.other)
            if let i = index[other] { index[h] = i; return i }
            index[other] = counts.count
            index[h] = counts.count
            counts.append((ReportLimits.other, 0))
            return counts.count - 1
        }

        /// Every key with its number of spans.
        func totals() -> [(String, Int)] {
            var totals = counts
            for set in sets { for s in set.slots { totals[s].1 += set.spans } }
            return totals
        }
    }
    /// A profile's traces; its spans are its operations' (summed in `take`: one count less per span).
    struct Profile {
        var app: String
        var major: String
        var traces = 0
        var lastTrace = -1
        /// Operations of this profile (bounded by `CanaryLimits.operations`), and its "other" one.
        var operations = 0
        var other: Int?
    }
    /// Profiles by hash of (app, major), operations of every profile in one array by hash of
    /// (profile, service, name, type, component): one level of nesting, open-addressed lookups.
    var profileIndex = HashIndex(capacity: 8)
    var operationIndex = HashIndex(capacity: 256)
    var profiles: [Profile] = []
    var operations: [(profile: Int, value: Operation)] = []
    /// The profile of the previous span (consecutive spans nearly always share app and version).
    private var last: (hash: UInt64, slot: Int)?

    var isEmpty: Bool { profiles.isEmpty }

    /// The hash of the profile of (app, tracer major version).
    @inline(__always)
    static func profileHash(appHash: UInt64, majorHash: UInt64) -> UInt64 { hashMix(appHash ^ majorHash &* 31) }

    /// The slot of profile `hash` when it is the previous span's (consecutive spans nearly always
    /// share app and version), else nil: then `profileSlot` with the names.
    @inline(__always)
    func currentProfile(_ hash: UInt64) -> Int? {
        if let l = last, l.hash == hash { return l.slot }
        return nil
    }

    /// Counts one span in profile `p` of hash `ph` (`currentProfile` or `profileSlot`), in trace number `trace`
    /// (unique across payloads); `meta` and `metrics` are the signatures of its key sets, summed
    /// in the analyzer's own walks. The names of the app and version are not passed: the caller
    /// would copy (retain) them on every span for a profile that is nearly always known.
    @inline(__always)
    mutating func add(_ span: SpanFacts, meta tags: SpanTags, metrics numbers: SpanMetrics, profile p: Int, hash ph: UInt64, trace: Int,
                      metaKeys meta: KeySignature, metricKeys metrics: KeySignature, strings: inout StringCache) {
        let component = span.component
        if profiles[p].lastTrace != trace { profiles[p].traces += 1; profiles[p].lastTrace = trace }
        let service = span.service, name = span.name, type = span.type
        var oh = hashMix(ph ^ shortHash(service))
        oh = hashMix(oh ^ shortHash(name))
        oh = hashMix(oh ^ shortHash(type))
        oh = hashMix(oh ^ shortHash(component))
        let o = operationIndex[oh] ?? newOperation(oh, profile: p, span, strings: &strings)
        operations[o].value.op.spans += 1
        operations[o].value.meta.count(meta) { visit in tags.forEach { k, _ in visit(k) } }
        operations[o].value.metrics.count(metrics) { visit in numbers.forEach { k, _ in visit(k) } }
    }

    /// The slot of profile `hash` (app and major) when it is not the previous span's (cold); it
    /// is the current one then.
    @inline(never)
    mutating func profileSlot(_ hash: UInt64, app: String, major: String) -> Int {
        let p: Int
        if let s = profileIndex[hash] { p = s } else {
            p = profiles.count
            profiles.append(Profile(app: app, major: major))
            profileIndex.set(hash, p)
        }
        last = (hash, p)
        return p
    }

    /// The slot of an operation not seen since the last hand-over (cold), or of its profile's
    /// "other" operation beyond `CanaryLimits.operations`.
    @inline(never)
    mutating func newOperation(_ hash: UInt64, profile p: Int, _ span: SpanFacts, strings: inout StringCache) -> Int {
        let service = span.service, name = span.name, type = span.type, component = span.component
        let o: Int
        if profiles[p].operations < CanaryLimits.operations {
            o = operations.count
            operations.append((p, Operation(op: CanaryOperation(
                service: strings.string(service, hash: byteHash(service)), name: strings.string(name, hash: byteHash(name)),
                type: strings.string(type, hash: byteHash(type)), component: strings.string(component, hash: byteHash(component))))))
            profiles[p].operations += 1
        } else if let i = profiles[p].other {
            o = i
        } else {
            o = operations.count
            operations.append((p, Operation(op: CanaryOperation(service: ReportLimits.other, name: ReportLimits.other, type: "", component: ""))))
            profiles[p].other = o
        }
        operationIndex.set(hash, o)
        return o
    }

    /// What was folded, as the report's canary section, and a fresh start; nil when nothing.
    mutating func take() -> [String: CanaryApp]? {
        last = nil
        guard !profiles.isEmpty else { return nil }
        var folded = profiles.map { CanaryProfile(traces: $0.traces, spans: 0) }
        for (p, var o) in operations {
            folded[p].spans += o.op.spans
            for (k, n) in o.meta.totals() where n > 0 { o.op.meta[k, default: 0] += n }
            for (k, n) in o.metrics.totals() where n > 0 { o.op.metrics[k, default: 0] += n }
            folded[p].operations.append(o.op)
        }
        var out: [String: CanaryApp] = [:]
        for (p, profile) in zip(profiles, folded) {
            out[p.app, default: CanaryApp()].versions[p.major, default: CanaryProfile()].absorb(profile)
        }
        profileIndex.removeAll()
        operationIndex.removeAll()
        profiles.removeAll(keepingCapacity: true)
        operations.removeAll(keepingCapacity: true)
        return out
    }
}
