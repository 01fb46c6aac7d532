import Foundation
import SeededRandom
import Testing
import TraceAnalysis
@testable import TraceCompatProxy

/// An analysis thread reuses the tracer header strings of the last request when this one's
/// tracer fields have the same bytes; whatever it reuses, the analyzer must read exactly what
/// this request sent.
@Suite struct TracerHeaderCacheTests {
    typealias Fields = [(name: String, value: String)]

    /// The fields a cache gives for `head`, and the same from a fresh cache (what every request
    /// got before the cache), or nil when the scan does not accept the head.
    static func read(_ head: [UInt8], with cache: inout TracerHeaderCache) -> (cached: Fields, fresh: Fields)? {
        head.withUnsafeBytes { bytes in
            guard case .head(let scanned) = RequestHeadScanner.scan(bytes) else { return nil }
            var fresh = TracerHeaderCache()
            return (cache.headers(in: bytes, scanned: scanned), fresh.headers(in: bytes, scanned: scanned))
        }
    }

    static func same(_ a: Fields, _ b: Fields) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }

    static func storage(_ fields: Fields) -> UnsafeRawPointer? {
        fields.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    static func head(_ fields: [(String, String)], length: Int) -> [UInt8] {
        var text = "PUT /v0.4/traces HTTP/1.1\r\nHost: agent\r\nContent-Length: \(length)\r\n"
        for (name, value) in fields { text += "\(name): \(value)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    @Test func theSameFieldsReuseTheStringsAndAnyDifferenceMakesNewOnes() throws {
        let python = [("Datadog-Meta-Lang", "python"), ("Datadog-Meta-Lang-Version", "3.12.1"),
                      ("Datadog-Meta-Tracer-Version", "3.19.9"), ("X-Datadog-Trace-Count", "2")]
        var cache = TracerHeaderCache()
        let first = try #require(Self.read(Self.head(python, length: 100), with: &cache))
        #expect(first.cached.map(\.name) == ["Datadog-Meta-Lang", "Datadog-Meta-Lang-Version", "Datadog-Meta-Tracer-Version"])
        #expect(first.cached.map(\.value) == ["python", "3.12.1", "3.19.9"])

        // Other fields (the body's length, the trace count) differ on every payload: reused.
        var counted = python
        counted[3].1 = "7"
        let again = try #require(Self.read(Self.head(counted, length: 2_000), with: &cache))
        #expect(Self.same(again.cached, first.cached))
        #expect(Self.storage(again.cached) == Self.storage(first.cached), "the same array, not new strings")

        // Each of these differs from the fields before it in one way the analyzer can see.
        var value = python; value[2].1 = "3.19.8"
        var name = python; name[0].0 = "DATADOG-META-LANG"
        var fewer = python; fewer.remove(at: 1)
        var more = python; more.append(("DD-Client-Library-Language", "python"))
        let reordered = [python[1], python[0], python[2]]
        var empty = python; empty[1].1 = ""
        for fields in [value, name, fewer, more, reordered, empty, python, [], python] {
            let read = try #require(Self.read(Self.head(fields, length: 100), with: &cache))
            #expect(Self.same(read.cached, read.fresh), "\(fields): cached \(read.cached), fresh \(read.fresh)")
        }
    }

    /// Every head the scan accepts in the differential corpus and 4,000 seeded mutations of it,
    /// read in a row through one cache (each twice, and the mutations next to their original, so
    /// that most reads follow a head with the same or almost the same fields): always what a
    /// fresh read gives.
    @Test func aCachedReadIsAFreshReadOnEveryAcceptedHead() throws {
        var rng = SplitMix64(seed: 17)
        let corpus = try HeadScannerDifferentialTests.corpus()
        var cache = TracerHeaderCache()
        var reads = 0, withFields = 0
        for round in 0..<4000 {
            let base = corpus[round % corpus.count].1
            for input in [base, HeadScannerDifferentialTests.mutate(base, using: &rng)] {
                for _ in 0..<2 {
                    guard let read = Self.read(input, with: &cache) else { continue }
                    #expect(Self.same(read.cached, read.fresh), "\(String(decoding: input.prefix(300), as: UTF8.self).debugDescription)")
                    reads += 1
                    if !read.fresh.isEmpty { withFields += 1 }
                }
            }
        }
        #expect(reads > 1000 && withFields > 500, "reads \(reads), with tracer fields \(withFields)")
    }
}
