import CompatReport
import CompatRules
import Foundation
import Testing
import TracePayload
@testable import TraceAnalysis

/// What `SpanWalk` remembers per v0.5 string-table index belongs to one payload: the next payload's
/// table puts other strings at the same indices, and each is judged as what it is there. Both
/// sides of `AnalysisLimits.rememberedFromBytes` (a payload padded past it, and one under it).
@Suite struct SpanWalkTests {
    /// A v0.5 payload of `spans` spans, each with meta {key: "django-database"} and metrics
    /// {metric: 1.0}, the key and metric at the same table indices whatever their text; `pad`
    /// bytes of an unused string make it large.
    static func v05(key: String, metric: String, spans: Int, pad: Int) -> CapturedRequest {
        var b: [UInt8] = [0x92, 0x98]
        for s in ["", "svc", "sqlite.query", "SELECT 1", key, "django-database", metric] { b += MP.str(s) }
        b += [0xda, UInt8(pad >> 8), UInt8(pad & 0xff)] + [UInt8](repeating: UInt8(ascii: "p"), count: pad)
        b += [0x91, 0xdc, UInt8(spans >> 8), UInt8(spans & 0xff)]
        for i in 0..<spans {
            b += [0x9c, 0x01, 0x02, 0x03] + MP.int(7) + MP.int(UInt64(i + 1)) + MP.int(0)
            b += MP.int(1_700_000_000_000_000_000) + MP.int(1000) + [0x00]
            b += [0x81, 0x04, 0x05] + [0x81, 0x06] + MP.double(1) + [0x00]
        }
        return CapturedRequest(method: "POST", path: "/v0.5/traces",
                               headers: [("Datadog-Meta-Lang", "python"), ("Datadog-Meta-Tracer-Version", "3.19.9")],
                               body: b, receivedAt: Date(timeIntervalSince1970: 1_700_000_000))
    }

    static func count(_ r: Report, _ rule: RuleID) -> Int { r.findings.filter { $0.rule == rule }.reduce(0) { $0 + $1.count } }

    @Test(arguments: [0, 20_000])
    func keysAreJudgedPerPayloadTable(pad: Int) throws {
        let facts = Self.v05(key: "component", metric: "user.count", spans: 20, pad: pad)
        let others = Self.v05(key: "comp0nent", metric: "process_id", spans: 20, pad: pad)
        #expect((facts.body.count >= AnalysisLimits.rememberedFromBytes) == (pad > 0))
        for order in [[facts, others, facts], [others, facts, others]] {
            let store = ReportStore()
            let a = Analyzer(store: store)
            for r in order { #expect(a.analyze(r).decodeError == nil) }
            let r = store.snapshot()
            let withFacts = order.filter { $0.body == facts.body }.count
            #expect(r.traffic.spans == 60)
            // "component: django-database" is a Django database span, "comp0nent" is not.
            #expect(Self.count(r, .djangoMinimal) == 20 * withFacts)
            // "user.count" is a user metric (V4-TAG-NUMERIC), "process_id" is ddtrace's.
            #expect(Self.count(r, .tagNumeric) == 20 * withFacts)
        }
    }
}
