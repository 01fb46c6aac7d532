import CompatReport
import CompatRules
import Testing
@testable import TraceAnalysis

/// The thread's finding table looks groups up by one word made of the key's hashes; two keys that
/// share that word must still be two groups with their own counts.
@Suite struct FindingTableTests {
    static func finding(_ resource: String) -> Finding {
        Finding(rule: .tagRepr, service: "svc", operation: "op", resource: resource, firstSeen: ReportTime(milliseconds: 1))
    }

    /// Two keys with the same `word`: `resource` and `key` chosen so that the fold meets again
    /// (the multiplier is odd, so the fold up to `resource` differs, and `key` cancels it).
    static func collidingKeys() -> (FindingTable.Key, FindingTable.Key) {
        let m: UInt64 = 0x9E37_79B9_7F4A_7C15
        func upToResource(_ r: UInt64) -> UInt64 {
            var h = (UInt64(7) ^ 1) &* m
            h = (h ^ 2) &* m
            h = (h ^ 3) &* m
            h = (h ^ 4) &* m
            return (h ^ r) &* m
        }
        let a = FindingTable.Key(rule: 7, kind: 1, app: 2, service: 3, operation: 4, resource: 5, key: 6)
        let b = FindingTable.Key(rule: 7, kind: 1, app: 2, service: 3, operation: 4, resource: 9,
                                 key: upToResource(5) ^ upToResource(9) ^ 6)
        return (a, b)
    }

    @Test func keysSharingAWordAreTwoGroups() {
        let (a, b) = Self.collidingKeys()
        #expect(a != b)
        #expect(a.word == b.word)
        var table = FindingTable(sampleLimit: 0, limits: ReportLimits())
        let t = ReportTime(milliseconds: 1)
        let sa = table.hit(a, at: t, make: { Self.finding("a") }, sample: { nil })
        let sb = table.hit(b, at: t, make: { Self.finding("b") }, sample: { nil })
        #expect(sa != sb)
        for _ in 0..<3 { table.hit(b, at: t, make: { Self.finding("b") }, sample: { nil }) }
        table.hit(a, at: t, make: { Self.finding("a") }, sample: { nil })
        #expect(table.findings.map(\.resource) == ["a", "b"])
        #expect(table.findings.map(\.count) == [2, 4])
        // After a reset both are new again, in the new order.
        table.reset()
        table.hit(b, at: t, make: { Self.finding("b") }, sample: { nil })
        table.hit(a, at: t, make: { Self.finding("a") }, sample: { nil })
        table.hit(a, at: t, make: { Self.finding("a") }, sample: { nil })
        #expect(table.findings.map(\.resource) == ["b", "a"])
        #expect(table.findings.map(\.count) == [1, 2])
    }
}
