import AgentImitation
import Testing
@testable import TraceReplay

/// The comparison `--verify` makes between what was sent and what the stub received.
@Suite struct ReplayVerificationTests {
    let a = ReplayPayload(name: "a", method: "PUT", path: "/v0.4/traces", headers: [], body: [0x90])
    let b = ReplayPayload(name: "b", method: "PUT", path: "/v0.4/traces", headers: [], body: [0x91, 0x90])

    func counters(_ answered: [Int]) -> ReplayCounters {
        var c = ReplayCounters()
        c.answeredPerPayload = answered
        c.ok = answered.reduce(0, +)
        return c
    }

    func stats(_ bodies: [String: Int]?) -> StubStats {
        var s = StubStats()
        s.bodies = bodies
        s.requests = bodies?.values.reduce(0, +) ?? 0
        s.bytes = 0
        return s
    }

    @Test func theSameBodiesAsOftenAsSentMatch() {
        var before = stats([a.sha256: 5])
        before.bytes = 5
        var after = stats([a.sha256: 7, b.sha256: 3])
        after.bytes = 5 + 2 + 6
        let v = ReplayResult.Verification(before: before, after: after, payloads: [a, b], counters: counters([2, 3]))
        #expect(v.bodiesMatch && v.byteForByte, "\(v.mismatches)")
        #expect(v.requestsReceived == 5 && v.bytesReceived == 8)
    }

    @Test func aMissingOrAlteredBodyIsReported() {
        let altered = SHA256.hex([0x92, 0x90])
        var after = stats([a.sha256: 2, altered: 1])
        after.bytes = 2 + 2  // same byte count: only the digests tell
        let v = ReplayResult.Verification(before: stats([:]), after: after, payloads: [a, b], counters: counters([2, 1]))
        #expect(!v.bodiesMatch)
        #expect(v.mismatches == ["b: sent 1, received 0", "1 body digest(s) arrived that were never sent (altered bodies)"])
    }

    @Test func withoutDigestsRequestsAndBytesAreCounted() {
        var after = StubStats()
        after.requests = 3
        after.bytes = 1 + 2 * 2
        let v = ReplayResult.Verification(before: StubStats(), after: after, payloads: [a, b], counters: counters([1, 2]))
        #expect(v.bodiesMatch && !v.byteForByte)
        after.bytes -= 1  // a byte lost on the way
        let lost = ReplayResult.Verification(before: StubStats(), after: after, payloads: [a, b], counters: counters([1, 2]))
        #expect(lost.mismatches == ["5 body bytes answered 2xx but 4 arrived"])
    }
}
