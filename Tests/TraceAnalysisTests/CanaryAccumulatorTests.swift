import CompatReport
import Foundation
import MessagePack
import Testing
@testable import TraceAnalysis

/// The canary profile counts keys per key set (`CanaryAccumulator`); these tests hold it to a
/// key-by-key count made independently from the decoded payload (`MessagePackReader`), on the
/// real Django capture and on key sets beyond `CanaryLimits.keySets`.
@Suite struct CanaryAccumulatorTests {
    typealias OpID = CanaryOperation.ID

    static func text(_ v: MessagePackValue?) -> String {
        if case .string(let b)? = v { return String(decoding: b, as: UTF8.self) }
        return ""
    }

    /// Per operation, meta and metrics keys → spans, counted key by key from the decoded v0.4 payload.
    static func reference(_ body: [UInt8]) throws -> [OpID: (spans: Int, meta: [String: Int], metrics: [String: Int])] {
        guard case .array(let traces) = try body.withUnsafeBytes({ try MessagePackReader.decode($0) }) else { throw CancellationError() }
        var out: [OpID: (spans: Int, meta: [String: Int], metrics: [String: Int])] = [:]
        for case .array(let spans) in traces {
            for case .map(let fields) in spans {
                func field(_ name: String) -> MessagePackValue? { fields.first { $0.0 == .string(Array(name.utf8)) }?.1 }
                var meta: [(MessagePackValue, MessagePackValue)] = []
                if case .map(let m)? = field("meta") { meta = m }
                var metrics: [(MessagePackValue, MessagePackValue)] = []
                if case .map(let m)? = field("metrics") { metrics = m }
                let component = text(meta.first { $0.0 == .string(Array("component".utf8)) }?.1)
                let id = CanaryOperation(service: text(field("service")), name: text(field("name")), type: text(field("type")), component: component).id
                var entry = out[id] ?? (0, [:], [:])
                entry.spans += 1
                for (k, _) in meta { entry.meta[text(k), default: 0] += 1 }
                for (k, _) in metrics { entry.metrics[text(k), default: 0] += 1 }
                out[id] = entry
            }
        }
        return out
    }

    static func profile(_ request: CapturedRequest, app: String) throws -> CanaryProfile {
        let store = ReportStore()
        Analyzer(store: store).analyze(request)
        return try #require(store.snapshot().canary?[app]?.versions["3"])
    }

    @Test func djangoKeyCountsEqualAKeyByKeyCount() throws {
        let request = try Canary.payload("django-full-v04", app: "shop", version: "3.19.9")
        let expected = try Self.reference(request.body)
        let profile = try Self.profile(request, app: "shop")
        #expect(profile.operations.count == expected.count)
        for op in profile.operations {
            let e = try #require(expected[op.id], "\(op.id)")
            #expect(op.spans == e.spans, "\(op.id)")
            #expect(op.meta == e.meta, "\(op.id)")
            #expect(op.metrics == e.metrics, "\(op.id)")
        }
    }

    /// One operation whose spans carry `sets` different key sets (span i: "common" and "k<i>"),
    /// each set on `repeats` spans: past `CanaryLimits.keySets` the keys are counted one by one.
    @Test func keySetsBeyondTheBoundAreCountedExactly() throws {
        let sets = CanaryLimits.keySets + 5, repeats = 3
        func s(_ x: String) -> MessagePackValue { .string(Array(x.utf8)) }
        var spans: [MessagePackValue] = []
        for r in 0..<repeats {
            for i in 0..<sets {
                spans.append(.map([
                    (s("trace_id"), .uint(1)), (s("span_id"), .uint(UInt64(r * sets + i + 1))), (s("parent_id"), .uint(0)),
                    (s("name"), s("job.run")), (s("service"), s("worker")), (s("resource"), s("run")), (s("type"), s("worker")),
                    (s("start"), .int(1_700_000_000_000_000_000)), (s("duration"), .int(1000)), (s("error"), .int(0)),
                    (s("meta"), .map([(s("common"), s("x")), (s("k\(i)"), s("y"))])),
                    (s("metrics"), .map(i % 2 == 0 ? [(s("m.even"), .float64(1))] : [(s("m.odd"), .float64(1)), (s("m.\(i)"), .float64(2))])),
                ]))
            }
        }
        var request = CapturedRequest(method: "POST", path: "/v0.4/traces", headers: [("Datadog-Meta-Tracer-Version", "3.19.9")],
                                      body: MessagePackWriter.encode(.array([.array(spans)])))
        request.receivedAt = Date(timeIntervalSince1970: 1_764_000_000)
        let expected = try Self.reference(request.body)
        let profile = try Self.profile(request, app: "worker")
        let op = try #require(profile.operations.first)
        #expect(profile.operations.count == 1 && op.spans == sets * repeats)
        let e = try #require(expected[op.id])
        #expect(op.meta == e.meta && op.metrics == e.metrics)
        #expect(op.meta["common"] == sets * repeats && op.meta["k\(sets - 1)"] == repeats)
        #expect(op.metrics["m.even"] == (sets + 1) / 2 * repeats)
    }
}
