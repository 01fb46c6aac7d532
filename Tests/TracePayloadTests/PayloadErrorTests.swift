import MessagePack
import Testing
import TracePayload

/// Builds payloads field by field and remembers where chosen values start, so that tests can
/// say which byte offset an error must name.
struct PayloadBuilder {
    var w = MessagePackWriter()
    var marks: [String: Int] = [:]
    mutating func mark(_ name: String) { marks[name] = w.bytes.count }
    var bytes: [UInt8] { w.bytes }

    /// A v0.4 span map from (key, value writer) pairs.
    mutating func span(_ fields: [(String, (inout PayloadBuilder) -> Void)]) {
        w.writeMapHeader(fields.count)
        for (key, write) in fields {
            w.writeString(key)
            write(&self)
        }
    }

    static func v04(traces: [[[(String, (inout PayloadBuilder) -> Void)]]]) -> PayloadBuilder {
        var b = PayloadBuilder()
        b.w.writeArrayHeader(traces.count)
        for trace in traces {
            b.w.writeArrayHeader(trace.count)
            for span in trace { b.span(span) }
        }
        return b
    }
}

func str(_ s: String) -> (inout PayloadBuilder) -> Void { { $0.w.writeString(s) } }
func uint(_ v: UInt64) -> (inout PayloadBuilder) -> Void { { $0.w.write(v) } }
func marked(_ name: String, _ raw: [UInt8]) -> (inout PayloadBuilder) -> Void { { $0.mark(name); $0.w.writeRaw(raw) } }

/// Decodes and returns the spans' copies (or the error).
func decodeSpans(_ bytes: [UInt8], _ format: TraceFormat, limits: MessagePackLimits = .default) -> Result<[DecodedSpan], MessagePackError> {
    var spans: [DecodedSpan] = []
    var decoder = TracePayloadDecoder(limits: limits)
    do {
        _ = try decoder.visit(bytes, format: format) { spans.append(DecodedSpan($0)) }
        return .success(spans)
    } catch let error as MessagePackError {
        return .failure(error)
    } catch {
        Issue.record("unexpected error type \(error)")
        return .success([])
    }
}

/// A span copied out of the visit, for assertions.
struct DecodedSpan: Equatable {
    var service = "", name = "", resource = "", type = ""
    var traceID: UInt64 = 0, spanID: UInt64 = 0, parentID: UInt64 = 0
    var start: Int64 = 0, duration: Int64 = 0, error: Int32 = 0
    var meta: [String: String] = [:]
    var metrics: [String: SpanMetrics.Number] = [:]
    var metaStruct: [String: [UInt8]] = [:]
    var spanLinks: [UInt8] = []
    var fields: SpanView.Fields.RawValue = 0

    init() {}
    init(_ s: borrowing SpanView) {
        service = s.service.string; name = s.name.string; resource = s.resource.string; type = s.type.string
        traceID = s.traceID; spanID = s.spanID; parentID = s.parentID
        start = s.start; duration = s.duration; error = s.error
        var meta: [String: String] = [:], metrics: [String: SpanMetrics.Number] = [:], ms: [String: [UInt8]] = [:]
        s.meta.forEach { meta[$0.string] = $1.string }
        s.metrics.forEach { metrics[$0.string] = $1 }
        s.metaStruct.forEach { ms[$0.string] = $1.bytes }
        self.meta = meta; self.metrics = metrics; metaStruct = ms
        spanLinks = s.spanLinks.bytes
        fields = s.fields.rawValue
    }
}

@Suite struct PayloadErrorTests {
    @Test func truncatedPayloadNamesTheTruncatedValue() {
        let b = PayloadBuilder.v04(traces: [[[("service", str("svc")), ("resource", marked("res", [0xa8] + Array("GET /x".utf8)))]]])
        let result = decodeSpans(b.bytes, .v04)
        #expect(result == .failure(MessagePackError(.truncated(needed: 2), at: b.marks["res"]!)))
        // Every truncation of a real payload is an error inside the buffer, never a crash.
        let full = PayloadBuilder.v04(traces: [[[("service", str("svc")), ("span_id", uint(7)), ("meta", { $0.w.writeMapHeader(1); $0.w.writeString("k"); $0.w.writeString("v") })]]]).bytes
        for n in 0..<full.count {
            guard case .failure(let e) = decodeSpans(Array(full[..<n]), .v04) else { Issue.record("prefix of \(n) bytes accepted"); continue }
            #expect(e.offset <= n)
            switch e.reason {
            case .truncated, .lengthExceedsInput: break  // a cut value, or a container cut short
            default: Issue.record("prefix \(n): \(e)")
            }
        }
    }

    @Test func wrongTypesAreRejectedWhereTheyStand() {
        var b = PayloadBuilder.v04(traces: [[[("service", marked("v", [0x05]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.typeMismatch(expected: "str", found: .uint), at: b.marks["v"]!)))
        b = PayloadBuilder.v04(traces: [[[("meta", marked("v", [0x91, 0x01]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.typeMismatch(expected: "map", found: .array), at: b.marks["v"]!)))
        b = PayloadBuilder.v04(traces: [[[("metrics", marked("v", [0x81, 0xa1, 0x6b, 0xa1, 0x31]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.typeMismatch(expected: "number", found: .string), at: b.marks["v"]! + 3)))
        b = PayloadBuilder.v04(traces: [[[("span_id", marked("v", [0xa1, 0x31]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.typeMismatch(expected: "int", found: .string), at: b.marks["v"]!)))
        b = PayloadBuilder.v04(traces: [[[("span_links", marked("v", [0x81, 0x01, 0x02]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.typeMismatch(expected: "array", found: .map), at: b.marks["v"]!)))
        // A trace that is not an array, a span that is not a map.
        #expect(decodeSpans([0x91, 0x81, 0x01, 0x02], .v04) == .failure(MessagePackError(.typeMismatch(expected: "array", found: .map), at: 1)))
        #expect(decodeSpans([0x91, 0x91, 0xa1, 0x61], .v04) == .failure(MessagePackError(.typeMismatch(expected: "map", found: .string), at: 2)))
        #expect(decodeSpans([0x91, 0x91, 0xc1], .v04) == .failure(MessagePackError(.invalidByte(0xc1), at: 2)))
        // Trailing bytes after the payload.
        #expect(decodeSpans([0x90, 0x00], .v04) == .failure(MessagePackError(.trailingBytes(count: 1), at: 1)))
    }

    @Test func hugeDeclaredLengthsFailBeforeAnythingIsReserved() {
        #expect(decodeSpans([0xdd, 0x00, 0xff, 0xff, 0xff, 0x90], .v04)
            == .failure(MessagePackError(.lengthExceedsInput(declared: 0xff_ffff, available: 1), at: 0)))
        #expect(decodeSpans([0xdd, 0xff, 0xff, 0xff, 0xff], .v04)
            == .failure(MessagePackError(.lengthLimitExceeded(declared: 0xffff_ffff, limit: 1 << 24), at: 0)))
        var b = PayloadBuilder.v04(traces: [[[("meta", marked("v", [0xdf, 0x00, 0x10, 0x00, 0x00, 0xa0, 0xa0]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.lengthExceedsInput(declared: 0x10_0000, available: 2), at: b.marks["v"]!)))
        b = PayloadBuilder.v04(traces: [[[("name", marked("v", [0xdb, 0x00, 0x10, 0x00, 0x00, 0x61]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.truncated(needed: 0x10_0000 - 1), at: b.marks["v"]!)))
        b = PayloadBuilder.v04(traces: [[[("name", marked("v", [0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.lengthLimitExceeded(declared: 0xffff_ffff, limit: 1 << 28), at: b.marks["v"]!)))
        // The v0.5 string table too.
        #expect(decodeSpans([0x92, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0x90], .v05)
            == .failure(MessagePackError(.lengthLimitExceeded(declared: 0x7fff_ffff, limit: 1 << 24), at: 1)))
    }

    @Test func unknownKeysAreSkippedButDepthIsBounded() {
        var deep: [UInt8] = [UInt8](repeating: 0x91, count: 28) + [0x01]
        var b = PayloadBuilder.v04(traces: [[[("custom", marked("v", deep)), ("name", str("n"))]]])
        #expect((try? decodeSpans(b.bytes, .v04).get().first?.name) == "n", "a value 28 deep plus the 3 payload levels fits in 32")
        deep = [UInt8](repeating: 0x91, count: 29) + [0x90]
        b = PayloadBuilder.v04(traces: [[[("custom", marked("v", deep))]]])
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.depthLimitExceeded(limit: 32), at: b.marks["v"]! + 29)))
    }

    // MARK: v0.5

    static func v05(strings: [String], spans: [[UInt8]]) -> [UInt8] {
        var w = MessagePackWriter()
        w.writeArrayHeader(2)
        w.writeArrayHeader(strings.count)
        for s in strings { w.writeString(s) }
        w.writeArrayHeader(1)
        w.writeArrayHeader(spans.count)
        for s in spans { w.writeRaw(s) }
        return w.bytes
    }

    /// A 12-field v0.5 span whose string indexes (service, name, resource, type) are all `index`.
    /// Byte 1 is the service index, byte 10 the start of meta.
    static func v05Span(index: UInt8 = 0, meta: [UInt8] = [0x80]) -> [UInt8] {
        [0x9c, index, index, index, 0x01, 0x02, 0x03, 0x05, 0x06, 0x00] + meta + [0x80, index]
    }

    @Test func v05BadStringIndexNamesTheIndex() {
        let span = Self.v05Span(index: 3)
        let bytes = Self.v05(strings: ["a", "b", "c"], spans: [span])
        let spanStart = bytes.count - span.count
        #expect(decodeSpans(bytes, .v05) == .failure(MessagePackError(.invalidValue("string index 3 outside the string table of 3"), at: spanStart + 1)))
        // A meta key that points outside the table.
        let metaSpan = Self.v05Span(index: 0, meta: [0x81, 0x09, 0x00])
        let bytes2 = Self.v05(strings: ["a"], spans: [metaSpan])
        let metaAt = bytes2.count - metaSpan.count + 10
        #expect(decodeSpans(bytes2, .v05) == .failure(MessagePackError(.invalidValue("string index 9 outside the string table of 1"), at: metaAt + 1)))
        // A negative index.
        let negative = Self.v05Span(index: 0xff)
        let bytes3 = Self.v05(strings: ["a"], spans: [negative])
        #expect(decodeSpans(bytes3, .v05) == .failure(MessagePackError(.invalidValue("string index -1 outside the string table of 1"), at: bytes3.count - negative.count + 1)))
    }

    @Test func v05SpanOfElevenOrThirteenFieldsIsRejected() {
        var w = MessagePackWriter()
        w.writeArrayHeader(11)
        for _ in 0..<11 { w.write(UInt64(0)) }
        let bytes = Self.v05(strings: ["a"], spans: [w.bytes])
        #expect(decodeSpans(bytes, .v05) == .failure(MessagePackError(.invalidValue("v0.5 span must be an array of 12 fields, found 11"), at: bytes.count - 12)))
        #expect(decodeSpans([0x93, 0x90, 0x90, 0x90], .v05)
            == .failure(MessagePackError(.invalidValue("v0.5 payload must be [string table, traces], found an array of 3"), at: 0)))
    }

    @Test func v05ToleratesNilMapsFloatStartAndBinStrings() throws {
        var w = MessagePackWriter()
        w.writeArrayHeader(2)
        w.writeArrayHeader(3); w.writeString("svc"); w.writeBinary(Array("op".utf8)); w.writeNil()
        w.writeArrayHeader(1); w.writeArrayHeader(1)
        w.writeArrayHeader(12)
        w.write(UInt64(0)); w.write(UInt64(1)); w.write(UInt64(2))
        w.writeRaw([0xd3] + [UInt8](repeating: 0xff, count: 8))  // trace id -1
        w.write(UInt64.max); w.writeNil()
        w.write(1.5e18); w.write(Float(10)); w.write(Int64(1))
        w.writeNil(); w.writeNil(); w.write(UInt64(2))
        let spans = try decodeSpans(w.bytes, .v05).get()
        var want = DecodedSpan()
        want.service = "svc"; want.name = "op"; want.resource = ""; want.type = ""
        want.traceID = .max; want.spanID = .max; want.parentID = 0
        want.start = 1_500_000_000_000_000_000; want.duration = 10; want.error = 1
        want.fields = SpanView.Fields.all12.rawValue
        #expect(spans == [want])
    }

    // MARK: Tolerance (as the Datadog Agent)

    @Test func v04ToleratesWhatTracersDoDifferently() throws {
        let b = PayloadBuilder.v04(traces: [[
            [("trace_id", marked("", [0xcc, 0xff])), ("span_id", marked("", [0xcd, 0x01, 0x00])), ("parent_id", marked("", [0xce, 0, 1, 0, 0]))],
            [("trace_id", marked("", [0xcf] + [UInt8](repeating: 0xff, count: 8))), ("span_id", marked("", [0xd0, 0xff])), ("parent_id", marked("", [0xc0]))],
            [("start", { $0.w.write(1.7e18) }), ("duration", { $0.w.write(Float(250)) }), ("error", marked("", [0xd1, 1, 0])),
             ("service", { $0.w.writeBinary(Array("bin-svc".utf8)) }), ("name", marked("", [0xc0])),
             ("meta", marked("", [0xc0])), ("metrics", marked("", [0xc0])), ("type", str("web"))],
            [("metrics", { w in
                w.w.writeMapHeader(4)
                w.w.writeString("i"); w.w.write(Int64(-3))
                w.w.writeString("u"); w.w.writeRaw([0xcf, 0, 0, 0, 0, 0, 0, 0, 7])
                w.w.writeString("f32"); w.w.write(Float(0.5))
                w.w.writeString("f64"); w.w.write(2.0)
             }),
             ("meta", { w in w.w.writeMapHeader(2); w.w.writeString("k"); w.w.writeNil(); w.w.writeBinary([0x62]); w.w.writeString("v") }),
             ("meta_struct", { w in w.w.writeMapHeader(1); w.w.writeString("s"); w.w.writeBinary([0x81, 0xa1, 0x61, 0x01]) }),
             ("span_links", { w in w.w.writeArrayHeader(1); w.w.writeMapHeader(1); w.w.writeString("trace_id"); w.w.write(UInt64(5)) }),
             ("unknown", { w in w.w.writeMapHeader(1); w.w.writeString("x"); w.w.writeArrayHeader(2); w.w.writeNil(); w.w.write(true) }),
             ("span_events", marked("", [0xc0]))],
        ]])
        let spans = try decodeSpans(b.bytes, .v04).get()
        try #require(spans.count == 4)
        #expect(spans[0].traceID == 255 && spans[0].spanID == 256 && spans[0].parentID == 65536)
        #expect(spans[1].traceID == .max && spans[1].spanID == .max, "negative ids are their two's complement, as in the Agent")
        #expect(spans[1].parentID == 0 && spans[1].fields & SpanView.Fields.parentID.rawValue != 0)
        #expect(spans[2].start == 1_700_000_000_000_000_000 && spans[2].duration == 250 && spans[2].error == 256)
        #expect(spans[2].service == "bin-svc" && spans[2].name == "" && spans[2].meta.isEmpty && spans[2].metrics.isEmpty && spans[2].type == "web")
        #expect(spans[3].metrics == [
            "i": .init(value: -3, isInteger: true), "u": .init(value: 7, isInteger: true),
            "f32": .init(value: 0.5, isInteger: false), "f64": .init(value: 2, isInteger: false),
        ])
        #expect(spans[3].meta == ["k": "", "b": "v"])
        #expect(spans[3].metaStruct == ["s": [0x81, 0xa1, 0x61, 0x01]])
        #expect(spans[3].spanLinks == [0x91, 0x81, 0xa8] + Array("trace_id".utf8) + [0x05])
        #expect(spans[3].fields & SpanView.Fields.spanEvents.rawValue != 0)
    }

    @Test func floatsThatCannotBeIntegersAreRejected() {
        var b = PayloadBuilder.v04(traces: [[[("span_id", marked("v", [0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0]))]]])  // NaN
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.integerOverflow, at: b.marks["v"]!)))
        b = PayloadBuilder.v04(traces: [[[("start", marked("v", [0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]))]]])  // +inf
        #expect(decodeSpans(b.bytes, .v04) == .failure(MessagePackError(.integerOverflow, at: b.marks["v"]!)))
    }

    @Test func spansBeforeAnErrorWereVisitedAndVisitorErrorsPropagate() {
        let b = PayloadBuilder.v04(traces: [[[("name", str("ok"))], [("name", marked("bad", [0x01]))]]])
        var seen: [String] = []
        var decoder = TracePayloadDecoder()
        #expect(throws: MessagePackError(.typeMismatch(expected: "str", found: .uint), at: b.marks["bad"]!)) {
            _ = try decoder.visit(b.bytes, format: .v04) { seen.append($0.name.string) }
        }
        #expect(seen == ["ok"])
        struct Stop: Error, Equatable {}
        #expect(throws: Stop()) {
            _ = try decoder.visit(PayloadBuilder.v04(traces: [[[("name", str("a"))]]]).bytes, format: .v04) { _ in throw Stop() }
        }
    }
}

