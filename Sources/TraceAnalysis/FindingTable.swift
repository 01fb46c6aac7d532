import CompatReport
import CompatRules

/// One payload's findings, grouped by small value-type keys (rule, kind, and hashes of service,
/// operation, resource and key), so that a repeated finding costs one dictionary lookup and no copy.
struct FindingTable {
    struct Key: Hashable {
        var rule: UInt8
        var kind: UInt8
        var service: UInt64
        var operation: UInt64
        var resource: UInt64
        var key: UInt64
    }

    var index: [Key: Int] = [:]
    var findings: [Finding] = []
    var sampleLimit: Int

    init(sampleLimit: Int) { self.sampleLimit = sampleLimit }

    var isEmpty: Bool { findings.isEmpty }

    mutating func reset() {
        index.removeAll(keepingCapacity: true)
        findings.removeAll(keepingCapacity: true)
    }

    /// Counts one occurrence; `make` runs only for a new group, `sample` only while samples are
    /// wanted. Returns the group's slot (for later updates such as twin counts).
    @inline(__always)
    @discardableResult
    mutating func hit(_ key: Key, at time: ReportTime, make: () -> Finding, sample: () -> Sample?) -> Int {
        if let i = index[key] {
            findings[i].count += 1
            if time < findings[i].firstSeen { findings[i].firstSeen = time }
            if time > findings[i].lastSeen { findings[i].lastSeen = time }
            if findings[i].samples.count < sampleLimit, let s = sample() { findings[i].samples.append(s) }
            return i
        }
        var f = make()
        f.count = 1
        f.firstSeen = time
        f.lastSeen = time
        if sampleLimit > 0, let s = sample() { f.samples = [s] }
        index[key] = findings.count
        findings.append(f)
        return findings.count - 1
    }
}
