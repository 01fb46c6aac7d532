import Foundation
import MessagePack
import Testing

/// The reader against msgpack-c: on every input both accept with equal values, or both reject.
/// "Accept" means one complete top-level value covering the whole buffer.
@Suite struct DifferentialTests {
    enum Verdict: Equatable {
        case accepted(MessagePackValue)
        case rejected
    }

    /// Runs both decoders (and the reader's skip) on `bytes`; returns what they agreed on, and
    /// records an issue naming `label` when they did not.
    @discardableResult
    static func compare(_ bytes: [UInt8], _ label: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation) -> Verdict {
        let ours: MessagePackValue?
        let ourError: MessagePackError?
        do {
            ours = try decode(bytes)
            ourError = nil
        } catch {
            ours = nil
            ourError = error
        }
        let theirs = MsgpackC.decode(bytes)
        switch (ours, theirs) {
        case let (a?, b?):
            #expect(a.floatNormalised == b.floatNormalised, "values differ on \(label())", sourceLocation: sourceLocation)
        case (nil, nil):
            break
        case (_?, nil):
            Issue.record("reader accepts, msgpack-c rejects: \(label()) \(hex(bytes))", sourceLocation: sourceLocation)
        case (nil, _?):
            Issue.record("reader rejects (\(ourError!)), msgpack-c accepts: \(label()) \(hex(bytes))", sourceLocation: sourceLocation)
        }
        // skipValue must agree with readValue: it ends exactly at the end iff the value was accepted.
        var reader = MessagePackReader(bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        let skipped = bytes.withUnsafeBytes { p -> Bool in
            reader = MessagePackReader(bytes: p)
            do { try reader.skipValue(); return reader.isAtEnd } catch { return false }
        }
        #expect(skipped == (ours != nil), "skipValue disagrees with readValue on \(label())", sourceLocation: sourceLocation)
        if let ourError {
            #expect(ourError.offset >= 0 && ourError.offset <= bytes.count, "error offset out of the buffer: \(ourError)", sourceLocation: sourceLocation)
        }
        return ours.map(Verdict.accepted) ?? .rejected
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.prefix(64).map { String(format: "%02x", $0) }.joined() + (bytes.count > 64 ? "… (\(bytes.count) bytes)" : "")
    }

    @Test func fixturesDecodeIdenticallyInBothDecoders() throws {
        let payloads = try FixtureFiles.payloads()
        try #require(payloads.count >= 6, "fixtures not found under \(FixtureFiles.root.path)")
        for (name, bytes) in payloads {
            #expect(Self.compare(bytes, name) != .rejected, "\(name) rejected")
        }
    }

    /// 4,000 random valid documents of every type and width: both accept, values equal, and the
    /// writer's re-encoding decodes to the same value.
    @Test(arguments: 0..<4)
    func generatedDocumentsAgree(batch: UInt64) {
        var gen = DocumentGenerator(seed: 0xD0C0 &+ batch)
        var accepted = 0
        for i in 0..<1000 {
            let (bytes, expected) = gen.document(maxDepth: Int(i % 6))
            let verdict = Self.compare(bytes, "batch \(batch) doc \(i)")
            #expect(verdict == .accepted(expected), "batch \(batch) doc \(i) does not decode to what was written")
            if case .accepted = verdict { accepted += 1 }
            let again = MessagePackWriter.encode(expected)
            #expect(again.withUnsafeBytes { try? MessagePackReader.decode($0) } == expected, "writer round trip, batch \(batch) doc \(i)")
        }
        #expect(accepted == 1000)
    }

    /// 8,000 damaged documents: truncations, flipped bytes, huge declared lengths, trailing
    /// bytes, 0xc1, spliced slices. Whatever each decoder makes of them, they must agree.
    @Test(arguments: 0..<8)
    func mutatedDocumentsAgree(batch: UInt64) {
        var gen = DocumentGenerator(seed: 0x3A7E &+ batch)
        var rejected = 0
        for i in 0..<1000 {
            let (doc, _) = gen.document(maxDepth: 3)
            var bytes = gen.mutate(doc)
            if i % 5 == 0 { bytes = gen.mutate(bytes) }
            if Self.compare(bytes, "batch \(batch) mutation \(i)") == .rejected { rejected += 1 }
        }
        // Most damage is fatal; a test that never sees a rejection is not testing rejection.
        #expect(rejected > 500)
    }

    /// Nesting around msgpack-c's limit of 32 open containers, with every kind of innermost value:
    /// a container at level 33 is rejected by both, even an empty one.
    @Test(arguments: 1...40)
    func deepNestingAgrees(levels: Int) {
        var gen = DocumentGenerator(seed: UInt64(levels))
        // (innermost bytes, containers they add, whether they are a complete value)
        let inners: [(bytes: [UInt8], depth: Int, valid: Bool)] = [
            ([0x01], 0, true), ([0x90], 1, true), ([0x80], 1, true), ([0x91, 0x01], 1, true),
            ([0x81, 0x01, 0x90], 2, true), ([0x92, 0x90, 0x80], 2, true), ([0xc1], 0, false), ([], 0, false),
        ]
        for (i, inner) in inners.enumerated() {
            for _ in 0..<4 {
                let bytes = gen.nested(levels: levels, inner: inner.bytes)
                let verdict = Self.compare(bytes, "\(levels) levels around inner \(i)")
                #expect((verdict != .rejected) == (inner.valid && levels + inner.depth <= 32), "\(levels) levels, inner \(i)")
            }
        }
    }

    /// Random bytes, and 1 to 6 byte buffers exhaustively over the interesting first bytes.
    @Test func randomAndShortBuffersAgree() {
        var gen = DocumentGenerator(seed: 0xB17E5)
        for i in 0..<1000 {
            Self.compare(gen.bytes(Int.random(in: 0...24, using: &gen.rng)), "random bytes \(i)")
        }
        for first in 0...255 {
            Self.compare([UInt8(first)], "single byte \(first)")
            for _ in 0..<4 {
                Self.compare([UInt8(first)] + gen.bytes(Int.random(in: 1...9, using: &gen.rng)), "short buffer after \(first)")
            }
        }
        Self.compare([], "empty buffer")
    }

    /// The cases above add up to more than 10,000 compared payloads.
    @Test func differentialCaseCountIsAtLeastTenThousand() {
        let generated = 4 * 1000, mutated = 8 * 1000, nesting = 40 * 8 * 4, random = 1000 + 256 * 5 + 1
        #expect(generated + mutated + nesting + random >= 10_000)
    }
}

/// The captured payloads of ../shared/fixtures (or $TRACE_COMPAT_SHARED/fixtures).
enum FixtureFiles {
    static var root: URL {
        if let shared = ProcessInfo.processInfo.environment["TRACE_COMPAT_SHARED"] {
            return URL(fileURLWithPath: shared).appendingPathComponent("fixtures")
        }
        // <repo>/Tests/MessagePackTests/this file → <repo>/../shared/fixtures
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    static func payloads() throws -> [(name: String, bytes: [UInt8])] {
        let fm = FileManager.default
        var out: [(String, [UInt8])] = []
        for scenario in try fm.contentsOfDirectory(atPath: root.path).sorted() {
            let dir = root.appendingPathComponent(scenario)
            for file in (try? fm.contentsOfDirectory(atPath: dir.path))?.sorted() ?? [] where file.hasSuffix(".msgpack") {
                out.append(("\(scenario)/\(file)", try [UInt8](Data(contentsOf: dir.appendingPathComponent(file)))))
            }
        }
        return out
    }
}
