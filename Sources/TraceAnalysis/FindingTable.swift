import CompatReport
import CompatRules

/// One analysis thread's findings since its last hand-over, grouped by small value-type keys (rule,
/// kind, and hashes of app, service, operation, normalised resource and key), so that a repeated
/// finding costs one dictionary lookup and no copy.
///
/// Bounded like the store (`ReportLimits`): a new group beyond its scope's bound (rule, app,
/// service) or the table's is counted in the scope's "other" group, so a thread holds at most
/// `limits.groups` groups (plus one "other" per scope) between two hand-overs, whatever the traffic.
struct FindingTable {
    struct Key: Hashable {
        /// `RuleID.code`.
        var rule: UInt64
        var kind: UInt8
        var app: UInt64
        var service: UInt64
        var operation: UInt64
        var resource: UInt64
        var key: UInt64

        /// The fields (hashes already) folded into one word: the key of `FindingTable`'s index.
        @inline(__always)
        var word: UInt64 {
            let m: UInt64 = 0x9E37_79B9_7F4A_7C15
            var h = (rule ^ UInt64(kind)) &* m
            h = (h ^ app) &* m
            h = (h ^ service) &* m
            h = (h ^ operation) &* m
            h = (h ^ resource) &* m
            h = (h ^ key) &* m
            return h ^ (h >> 32)
        }

        /// One word fed to the hasher instead of seven (the collision map's keys).
        func hash(into hasher: inout Hasher) { hasher.combine(word) }

        /// Every field equal, without branches: the derived `==` was merged by the optimizer
        /// into a call to libc's `memcmp` on every repeated finding (its code in the instruction
        /// cache as well as the call).
        @inline(__always)
        static func == (a: Key, b: Key) -> Bool {
            ((a.rule ^ b.rule) | (a.app ^ b.app) | (a.service ^ b.service) | (a.operation ^ b.operation)
                | (a.resource ^ b.resource) | (a.key ^ b.key) | UInt64(a.kind ^ b.kind)) == 0
        }
    }

    struct Scope: Hashable { var rule: UInt64; var app: UInt64; var service: UInt64 }

    /// The kind of the key of an "other" group (no rule uses it).
    static let overflowKind: UInt8 = 0xFF

    /// `Key.word` → slot, by open addressing (`HashIndex`): a repeated finding is looked up with
    /// a mask, a load and a compare, where `Dictionary` ran SipHash over the word first (5 % of a
    /// small payload's analysis). The slot's full key is compared (`keys`), so two keys sharing a
    /// word are still two groups: the second goes to `collided`.
    private var index = HashIndex(capacity: 64)
    private var keys: [Key] = []
    private var collided: [Key: Int] = [:]
    var findings: [Finding] = []
    private var perScope: [Scope: Int] = [:]
    private var regular = 0
    let sampleLimit: Int
    let limits: ReportLimits

    init(sampleLimit: Int, limits: ReportLimits) {
        self.sampleLimit = sampleLimit
        self.limits = limits
    }

    var isEmpty: Bool { findings.isEmpty }

    /// Empties the table (after a hand-over), keeping its storage.
    mutating func reset() {
        index.removeAll()
        keys.removeAll(keepingCapacity: true)
        collided.removeAll(keepingCapacity: true)
        findings.removeAll(keepingCapacity: true)
        perScope.removeAll(keepingCapacity: true)
        regular = 0
    }

    /// Counts one occurrence seen between `first` and `last` in an existing group and returns its
    /// slot (valid until the next `reset`); nil when the group is new (then call `insert`). Two
    /// steps so that the caller builds a new group's strings outside any access to the table.
    /// The slot of `key`'s group, nil when it has none.
    @inline(__always)
    func slot(_ key: Key) -> Int? {
        guard let i = index[key.word] else { return nil }
        if keys[i] == key { return i }
        return collided.isEmpty ? nil : collided[key]
    }

    @inline(__always)
    mutating func count(_ key: Key, first: ReportTime, last: ReportTime, sample: () -> Sample?) -> Int? {
        guard let i = slot(key) else { return nil }
        findings[i].count += 1
        if first < findings[i].firstSeen { findings[i].firstSeen = first }
        if last > findings[i].lastSeen { findings[i].lastSeen = last }
        if findings[i].samples.count < sampleLimit, let s = sample() { findings[i].samples.append(s) }
        return i
    }

    /// A new group for `key` with `finding` (count one), or, beyond the bounds, one more in its
    /// scope's "other" group. Returns the slot.
    @discardableResult
    mutating func insert(_ key: Key, first: ReportTime, last: ReportTime, finding: Finding, sample: Sample?) -> Int {
        if key.kind != Self.overflowKind {
            let scope = Scope(rule: key.rule, app: key.app, service: key.service)
            let inScope = perScope[scope, default: 0]
            guard inScope < limits.groupsPerScope && regular < limits.groups else {
                // Beyond the bound: the scope's "other" group (the store folds it exactly).
                let other = Key(rule: key.rule, kind: Self.overflowKind, app: key.app, service: key.service, operation: 0, resource: 0, key: 0)
                if let slot = count(other, first: first, last: last, sample: { sample }) { return slot }
                return insert(other, first: first, last: last, finding: finding.overflow(app: nil), sample: sample)
            }
            perScope[scope] = inScope + 1
            regular += 1
        }
        var f = finding
        f.count = 1
        f.firstSeen = first
        f.lastSeen = last
        if sampleLimit > 0, let s = sample { f.samples = [s] }
        let word = key.word
        if index[word] == nil { index.set(word, findings.count) } else { collided[key] = findings.count }
        keys.append(key)
        findings.append(f)
        return findings.count - 1
    }

    /// `count`, else `insert` with what `make` builds (for callers whose `make` touches nothing
    /// else of theirs).
    @inline(__always)
    @discardableResult
    mutating func hit(_ key: Key, first: ReportTime, last: ReportTime, make: () -> Finding, sample: () -> Sample?) -> Int {
        if let slot = count(key, first: first, last: last, sample: sample) { return slot }
        return insert(key, first: first, last: last, finding: make(), sample: sampleLimit > 0 ? sample() : nil)
    }

    @inline(__always)
    @discardableResult
    mutating func hit(_ key: Key, at time: ReportTime, make: () -> Finding, sample: () -> Sample?) -> Int {
        hit(key, first: time, last: time, make: make, sample: sample)
    }

    /// Adds a finding built whole (telemetry, `/info`, LLM Observability: rare requests), keyed by
    /// hashes of its strings.
    mutating func add(_ finding: Finding) {
        let key = Key(rule: finding.rule.code, kind: 0, app: byteHash(finding.app ?? ""), service: byteHash(finding.service),
                      operation: byteHash(finding.operation), resource: byteHash(finding.resource),
                      key: byteHash((finding.key ?? "") + "\u{0}" + (finding.kind ?? "")))
        if let i = slot(key) {
            findings[i].absorb(finding, sampleLimit: sampleLimit)
            return
        }
        insert(key, first: finding.firstSeen, last: finding.lastSeen, finding: finding, sample: nil)
        if let i = slot(key) {
            findings[i].count = finding.count
            findings[i].samples = Array(finding.samples.prefix(sampleLimit))
        } else {
            // Counted in the "other" group by `insert` with a count of one: add the rest.
            let other = Key(rule: key.rule, kind: Self.overflowKind, app: key.app, service: key.service, operation: 0, resource: 0, key: 0)
            if let i = slot(other) { findings[i].count += finding.count - 1 }
        }
    }
}

extension Finding {
    /// This finding's "other" group, as `FindingGroups` makes it (app and service kept).
    func overflow(app: String?) -> Finding {
        var f = Finding(rule: rule, severity: severity, confidence: confidence, service: service, operation: "",
                        resource: ReportLimits.other, key: nil, kind: ReportLimits.other, firstSeen: firstSeen, lastSeen: lastSeen,
                        app: app ?? self.app, twinSeen: twinSeen == nil ? nil : 0)
        f.fix = fix
        return f
    }
}
