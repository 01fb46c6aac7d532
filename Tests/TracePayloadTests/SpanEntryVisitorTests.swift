import MessagePack
import Testing
import TracePayload

/// The entries a `SpanEntryVisitor` is handed while the decoder checks a span's maps are exactly
/// what `SpanTags.forEach` and `SpanMetrics.forEach` give for that span afterwards (same keys,
/// values, numbers, order), and visiting with one fails with the same error at the same offset
/// after the same spans as visiting without.
@Suite struct SpanEntryVisitorTests {
    struct Meta: Equatable { var key: [UInt8]; var value: [UInt8] }
    struct Metric: Equatable { var key: [UInt8]; var number: SpanMetrics.Number }

    /// Records the entries of the current span; `indexed` counts the v0.5 entries handed with
    /// their indices (each checked against the table).
    struct Recorder: SpanEntryVisitor {
        var meta: [Meta] = []
        var metrics: [Metric] = []
        var indexed = 0
        mutating func meta(key: ByteView, value: ByteView) { meta.append(Meta(key: key.bytes, value: value.bytes)) }
        mutating func metric(key: ByteView, number: SpanMetrics.Number) { metrics.append(Metric(key: key.bytes, number: number)) }
        mutating func metaIndexed(key: Int, value: Int, table: UnsafeBufferPointer<ByteView>) {
            indexed += 1
            meta(key: table[key], value: table[value])
        }
        mutating func metricIndexed(key: Int, number: SpanMetrics.Number, table: UnsafeBufferPointer<ByteView>) {
            indexed += 1
            metric(key: table[key], number: number)
        }
    }

    /// Visits `bytes` with a recorder, checking each span's entries against its maps; the number
    /// of spans and entries seen, or the error.
    static func visitChecked(_ bytes: [UInt8], _ format: TraceFormat) -> (spans: Int, entries: Int, indexed: Int, error: MessagePackError?) {
        var decoder = TracePayloadDecoder()
        var recorder = Recorder()
        var spans = 0, entries = 0
        do {
            _ = try bytes.withUnsafeBytes { buffer in
                try decoder.visit(buffer, format: format, entries: &recorder) { span, recorder in
                    var meta: [Meta] = [], metrics: [Metric] = []
                    span.meta.forEach { meta.append(Meta(key: $0.bytes, value: $1.bytes)) }
                    span.metrics.forEach { metrics.append(Metric(key: $0.bytes, number: $1)) }
                    #expect(recorder.meta == meta, "span \(spans): meta entries")
                    #expect(recorder.metrics == metrics, "span \(spans): metrics entries")
                    spans += 1
                    entries += meta.count + metrics.count
                    recorder.meta.removeAll()
                    recorder.metrics.removeAll()
                }
            }
        } catch let error as MessagePackError {
            return (spans, entries, recorder.indexed, error)
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return (spans, entries, recorder.indexed, nil)
    }

    /// The spans visited and the error of a visit without an entry visitor.
    static func visitPlain(_ bytes: [UInt8], _ format: TraceFormat) -> (spans: Int, error: MessagePackError?) {
        var decoder = TracePayloadDecoder()
        var spans = 0
        do {
            _ = try decoder.visit(bytes, format: format) { _ in spans += 1 }
        } catch let error as MessagePackError {
            return (spans, error)
        } catch {
            Issue.record("unexpected error \(error)")
        }
        return (spans, nil)
    }

    @Test(arguments: try Fixture.all())
    func fixtureEntriesAreTheMaps(_ fixture: Fixture) throws {
        let seen = Self.visitChecked(fixture.bytes, fixture.format)
        #expect(seen.error == nil)
        #expect(seen.spans == Self.visitPlain(fixture.bytes, fixture.format).spans)
        #expect(seen.entries > 0)
        // v0.5 hands every entry with its indices; v0.4 none.
        #expect(seen.indexed == (fixture.format == .v05 ? seen.entries : 0))
    }

    /// Every prefix of a payload (the small fixtures whole, the large ones at 389 cut points):
    /// the same error at the same offset after the same spans, with or without the visitor.
    @Test(arguments: try Fixture.all())
    func truncatedPayloadsFailAlike(_ fixture: Fixture) {
        let step = fixture.bytes.count > 8192 ? fixture.bytes.count / 389 : 1
        for cut in stride(from: 0, to: fixture.bytes.count, by: step) {
            let prefix = Array(fixture.bytes[..<cut])
            let seen = Self.visitChecked(prefix, fixture.format)
            let plain = Self.visitPlain(prefix, fixture.format)
            #expect(seen.error != nil && seen.error == plain.error, "\(fixture.name) cut at \(cut)")
            #expect(seen.spans == plain.spans, "\(fixture.name) cut at \(cut)")
        }
    }

    /// The encodings off the fast paths: str16 and bin keys, nil and str8 values, metrics as
    /// uint16, int8, float32 and nil, and a map that ends the payload (no byte after its last
    /// value, where the fast loops stop).
    @Test func unusualEncodingsGiveTheSameEntries() throws {
        let long = String(repeating: "k", count: 300)
        let b = PayloadBuilder.v04(traces: [[
            [("name", str("a")),
             ("meta", { p in
                 p.w.writeMapHeader(5)
                 p.w.writeString(long); p.w.writeString("v")
                 p.w.writeBinary(Array("binkey".utf8)); p.w.writeString(String(repeating: "x", count: 40))
                 p.w.writeString("nil"); p.w.writeNil()
                 p.w.writeString("empty"); p.w.writeString("")
                 p.w.writeString("bin"); p.w.writeBinary([0x01, 0x02])
             }),
             ("metrics", { p in
                 p.w.writeMapHeader(6)
                 p.w.writeString("u16"); p.w.write(UInt64(40_000))
                 p.w.writeString("neg"); p.w.write(Int64(-5))
                 p.w.writeString("f32"); p.w.write(Float(1.5))
                 p.w.writeString("nil"); p.w.writeNil()
                 p.w.writeString("f64"); p.w.write(2.25)
                 p.w.writeString("fix"); p.w.write(UInt64(7))
             })],
            [("metrics", { p in
                 p.w.writeMapHeader(1)
                 p.w.writeString("last"); p.w.write(UInt64(3))
             }),
             ("meta", { p in
                 p.w.writeMapHeader(2)
                 p.w.writeString("k"); p.w.writeString("v")
                 p.w.writeString("end"); p.w.writeString("here")
             })],
        ]])
        let seen = Self.visitChecked(b.bytes, .v04)
        #expect(seen.error == nil)
        #expect(seen.spans == 2)
        #expect(seen.entries == 5 + 6 + 1 + 2)
        for cut in 0..<b.bytes.count {
            let prefix = Array(b.bytes[..<cut])
            let checked = Self.visitChecked(prefix, .v04), plain = Self.visitPlain(prefix, .v04)
            #expect(checked.error != nil && checked.error == plain.error && checked.spans == plain.spans, "cut at \(cut)")
        }
    }
}
