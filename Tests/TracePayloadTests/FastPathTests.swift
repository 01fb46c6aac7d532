import MessagePack
import SeededRandom
import Testing
import TracePayload

/// The decoder's fast paths (known keys by 8-byte loads, fixstr/str8 inline, the tight tag
/// validation loop, inline int/float reads, unchecked walks of validated tags) must give the
/// same spans and the same errors as the checked paths they shortcut.
@Suite struct FastPathTests {
    // MARK: nil metric values (the Agent's parseFloat64Bytes reads nil as 0)

    @Test func v04NilMetricValueIsZero() throws {
        let b = PayloadBuilder.v04(traces: [[[("metrics", { w in
            w.w.writeMapHeader(3)
            w.w.writeString("a"); w.w.writeNil()
            w.w.writeString("b"); w.w.write(2.5)
            w.w.writeString("c"); w.w.writeNil()
        }), ("service", str("svc"))]]])
        let spans = try decodeSpans(b.bytes, .v04).get()
        #expect(spans.count == 1)
        #expect(spans.first?.metrics == [
            "a": .init(value: 0, isInteger: false), "b": .init(value: 2.5, isInteger: false), "c": .init(value: 0, isInteger: false),
        ])
        #expect(spans.first?.service == "svc", "the value after the nil metric is read from the right place")
        // A nil as the last byte of the payload: the inline paths need bytes after it, the checked path takes it.
        let last = PayloadBuilder.v04(traces: [[[("metrics", { w in w.w.writeMapHeader(1); w.w.writeString("z"); w.w.writeNil() })]]])
        #expect(try decodeSpans(last.bytes, .v04).get().first?.metrics == ["z": .init(value: 0, isInteger: false)])
    }

    @Test func v05NilMetricValueIsZero() throws {
        var w = MessagePackWriter()
        w.writeArrayHeader(2)
        w.writeArrayHeader(3); w.writeString("svc"); w.writeString("m"); w.writeString("n")
        w.writeArrayHeader(1); w.writeArrayHeader(1)
        w.writeArrayHeader(12)
        w.write(UInt64(0)); w.write(UInt64(0)); w.write(UInt64(0))
        w.write(UInt64(1)); w.write(UInt64(2)); w.write(UInt64(0))
        w.write(UInt64(10)); w.write(UInt64(5)); w.write(UInt64(0))
        w.writeMapHeader(0)
        w.writeMapHeader(2); w.write(UInt64(1)); w.writeNil(); w.write(UInt64(2)); w.write(UInt64(7))
        w.write(UInt64(0))
        let spans = try decodeSpans(w.bytes, .v05).get()
        #expect(spans.first?.metrics == ["m": .init(value: 0, isInteger: false), "n": .init(value: 7, isInteger: true)])
        #expect(spans.first?.type == "svc")
    }

    @Test func nilStaysAnErrorWhereTheAgentRejectsIt() {
        // Only metric values take nil as 0: readNumberAsDouble itself still rejects nil.
        var r = MessagePackReader(bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        #expect(throws: MessagePackError(.truncated(needed: 1), at: 0)) { try r.readNumberAsDouble() }
        let bytes: [UInt8] = [0xc0]
        bytes.withUnsafeBytes { raw in
            var r = MessagePackReader(bytes: raw)
            #expect(throws: MessagePackError(.typeMismatch(expected: "number", found: .nil), at: 0)) { try r.readNumberAsDouble() }
        }
    }

    // MARK: the key guess (a perfect hash of a key's first five bytes, then its whole bytes)

    /// Keys that hash to a known key's slot (the same header and first four letters) but differ
    /// after them are unknown keys: skipped, whatever their value, and the known keys around
    /// them still read. The hash reads only the first five bytes, so each of these lands on the
    /// known key's case, whose whole-key compare must send it to the checked read.
    @Test func keysSharingAKnownKeysSlotAreUnknown() throws {
        let known = ["service", "resource", "trace_id", "span_id", "parent_id", "start", "duration", "error",
                     "metrics", "meta_struct", "span_links", "span_events"]
        var fields: [(String, (inout PayloadBuilder) -> Void)] = [("name", str("op"))]
        for key in known {
            fields.append((String(key.dropLast()) + "X", { $0.w.writeArrayHeader(1); $0.w.writeNil() }))
            fields.append((String(key.prefix(4)) + "Y" + String(key.dropFirst(5)), str("junk")))
        }
        fields.append(("service", str("svc")))
        fields.append(("type", str("web")))
        // Far from the end of the payload, so that every key takes the fast path.
        let b = PayloadBuilder.v04(traces: [[fields.map { $0 }, [("name", str("second"))]]])
        let spans = try decodeSpans(b.bytes, .v04).get()
        #expect(spans.count == 2)
        var want = DecodedSpan()
        want.name = "op"; want.service = "svc"; want.type = "web"
        want.fields = (SpanView.Fields.name.rawValue | SpanView.Fields.service.rawValue | SpanView.Fields.type.rawValue)
        #expect(spans.first == want)
        #expect(spans.last?.name == "second")
    }

    // MARK: every encoding, fast and checked paths side by side

    /// A v0.4 payload whose spans use every encoding the decoder accepts, in random key order,
    /// with unknown keys, strings ≤ 15 bytes (so a 15-byte length limit accepts them too).
    private static func randomPayload(_ rng: inout SplitMix64, spans: Int) -> (bytes: [UInt8], want: [DecodedSpan]) {
        var w = MessagePackWriter()
        var want: [DecodedSpan] = []
        w.writeArrayHeader(1)
        w.writeArrayHeader(spans)
        func text(_ rng: inout SplitMix64) -> String { String((0..<rng.below(16)).map { i in Character(UnicodeScalar(UInt8(97 + i % 26))) }) }
        func writeStr(_ s: String, _ w: inout MessagePackWriter, _ rng: inout SplitMix64) {
            let u = Array(s.utf8)
            switch rng.below(5) {
            case 0: w.writeRaw([0xd9, UInt8(u.count)] + u)  // str8 even when short
            case 1: w.writeRaw([0xda, 0, UInt8(u.count)] + u)  // str16
            case 2: w.writeBinary(u)
            default: w.writeString(s)  // fixstr
            }
        }
        func writeUInt(_ v: UInt64, _ w: inout MessagePackWriter, _ rng: inout SplitMix64) {
            switch rng.below(4) {
            case 0: w.writeRaw([0xcf] + withUnsafeBytes(of: v.bigEndian, Array.init))
            case 1 where v <= UInt64(Int64.max): w.writeRaw([0xd3] + withUnsafeBytes(of: v.bigEndian, Array.init))
            default: w.write(v)  // smallest: fixint, uint8 … uint64
            }
        }
        for _ in 0..<spans {
            var span = DecodedSpan()
            var entries: [(String, (inout MessagePackWriter, inout SplitMix64) -> Void)] = []
            let service = text(&rng), name = text(&rng), resource = text(&rng), type = text(&rng)
            let ids = (rng.next() >> UInt64(rng.below(64)), rng.next() >> UInt64(rng.below(64)), rng.next() >> UInt64(rng.below(64)))
            let start = Int64(bitPattern: rng.next() >> UInt64(rng.below(64))), duration = Int64(rng.below(1 << 20)) - 5
            span.service = service; span.name = name; span.resource = resource; span.type = type
            span.traceID = ids.0; span.spanID = ids.1; span.parentID = ids.2; span.start = start; span.duration = duration
            entries.append(("service", { w, r in writeStr(service, &w, &r) }))
            entries.append(("name", { w, r in writeStr(name, &w, &r) }))
            entries.append(("resource", { w, r in writeStr(resource, &w, &r) }))
            entries.append(("type", { w, r in writeStr(type, &w, &r) }))
            entries.append(("trace_id", { w, r in writeUInt(ids.0, &w, &r) }))
            entries.append(("span_id", { w, r in writeUInt(ids.1, &w, &r) }))
            entries.append(("parent_id", { w, r in writeUInt(ids.2, &w, &r) }))
            entries.append(("start", { w, r in start >= 0 ? writeUInt(UInt64(start), &w, &r) : w.write(start) }))
            entries.append(("duration", { w, r in duration >= 0 ? writeUInt(UInt64(duration), &w, &r) : w.write(duration) }))
            if rng.below(2) == 0 { span.error = 1; entries.append(("error", { w, _ in w.write(UInt64(1)) })) }
            var meta: [(String, String)] = []
            for i in 0..<rng.below(6) { meta.append(("k\(i)", text(&rng))) }
            span.meta = Dictionary(meta, uniquingKeysWith: { a, _ in a })
            entries.append(("meta", { w, r in
                w.writeMapHeader(meta.count)
                for (k, v) in meta { writeStr(k, &w, &r); writeStr(v, &w, &r) }
            }))
            var metrics: [(String, Int)] = []
            for i in 0..<rng.below(5) { metrics.append(("m\(i)", rng.below(4))) }
            span.metrics = Dictionary(metrics.map { k, kind in
                (k, kind == 0 ? SpanMetrics.Number(value: 1.5, isInteger: false) : kind == 1 ? .init(value: 0, isInteger: false)
                    : kind == 2 ? .init(value: 300, isInteger: true) : .init(value: 0.25, isInteger: false))
            }, uniquingKeysWith: { a, _ in a })
            entries.append(("metrics", { w, _ in
                w.writeMapHeader(metrics.count)
                for (k, kind) in metrics {
                    w.writeString(k)
                    switch kind {
                    case 0: w.write(1.5)
                    case 1: w.writeNil()
                    case 2: w.write(UInt64(300))
                    default: w.write(Float(0.25))
                    }
                }
            }))
            entries.append(("unknown_key", { w, _ in w.writeArrayHeader(2); w.writeString("x"); w.write(UInt64(1)) }))
            for i in stride(from: entries.count - 1, to: 0, by: -1) { entries.swapAt(i, rng.below(i + 1)) }
            w.writeMapHeader(entries.count)
            for (key, write) in entries {
                rng.below(6) == 0 ? w.writeBinary(Array(key.utf8)) : w.writeString(key)
                write(&w, &rng)
            }
            var fields: SpanView.Fields = [.service, .name, .resource, .type, .traceID, .spanID, .parentID, .start, .duration, .meta, .metrics]
            if span.error != 0 { fields.insert(.error) }
            span.fields = fields.rawValue
            want.append(span)
        }
        return (w.bytes, want)
    }

    @Test func everyEncodingDecodesToItsValue() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<50 {
            let (bytes, want) = Self.randomPayload(&rng, spans: 3)
            #expect(try decodeSpans(bytes, .v04).get() == want)
        }
    }

    /// A 15-byte length limit turns the fast key path and the tight tag loop off (they need at
    /// least 16 and 255): truncated and damaged payloads must fail the same way on both paths.
    @Test func fastAndCheckedPathsAgreeOnDamagedPayloads() {
        var rng = SplitMix64(seed: 7)
        let checked = MessagePackLimits(maxByteLength: 15)
        var compared = 0
        for _ in 0..<40 {
            let (bytes, _) = Self.randomPayload(&rng, spans: 2)
            var cases: [[UInt8]] = (0..<bytes.count).map { Array(bytes[..<$0]) }
            for _ in 0..<100 {
                var flipped = bytes
                flipped[rng.below(flipped.count)] = UInt8(truncatingIfNeeded: rng.next())
                cases.append(flipped)
            }
            for c in cases {
                let slow = decodeSpans(c, .v04, limits: checked)
                if case .failure(let e) = slow, case .lengthLimitExceeded = e.reason { continue }  // the limit itself differs
                #expect(decodeSpans(c, .v04) == slow)
                compared += 1
            }
        }
        #expect(compared > 10_000)
    }
}
