import Foundation
import MessagePack
import Testing
import TracePayload

/// Every captured payload of ../shared/fixtures decodes to exactly what Python's msgpack read
/// from it (the `*.json` beside each `*.msgpack`), with the counts of `expected.json`.
@Suite struct FixtureTests {
    static let v04Keys: [(String, SpanView.Fields)] = [
        ("service", .service), ("name", .name), ("resource", .resource), ("trace_id", .traceID),
        ("span_id", .spanID), ("parent_id", .parentID), ("start", .start), ("duration", .duration),
        ("error", .error), ("meta", .meta), ("metrics", .metrics), ("meta_struct", .metaStruct),
        ("type", .type), ("span_links", .spanLinks), ("span_events", .spanEvents),
    ]

    @Test func everyScenarioHasAPayload() throws {
        let payloads = try Fixture.all()
        try #require(payloads.count >= 6, "fixtures not found under \(Fixture.root.path)")
        #expect(Set(payloads.map(\.format)) == [.v04, .v05])
    }

    @Test(arguments: try Fixture.all())
    func decodesLikePython(_ fixture: Fixture) throws {
        let expected = try fixture.expectedSpans()
        let metricIsFloat = try fixture.metricKinds()
        let counts = try fixture.expectedCounts()
        var decoder = TracePayloadDecoder()
        var spanIndex = 0
        var traceIndex = -1
        var positionInTrace = 0
        let summary = try decoder.visit(fixture.bytes, format: fixture.format) { span in
            if span.traceIndex != traceIndex { traceIndex = span.traceIndex; positionInTrace = 0 }
            defer { spanIndex += 1; positionInTrace += 1 }
            #expect(span.spanIndex == spanIndex)
            guard traceIndex < expected.count, positionInTrace < expected[traceIndex].count else {
                Issue.record("span \(spanIndex) beyond the Python decoding"); return
            }
            let want = expected[traceIndex][positionInTrace]
            let at = "\(fixture.name) trace \(traceIndex) span \(positionInTrace)"
            check(span, against: want, floats: metricIsFloat[traceIndex][positionInTrace], format: fixture.format, at)
        }
        #expect(summary.traces == counts.traces, "\(fixture.name) traces")
        #expect(summary.spans == counts.spans, "\(fixture.name) spans")
        #expect(summary.traces == expected.count)
        #expect(summary.spans == expected.reduce(0) { $0 + $1.count })
    }

    func check(_ span: borrowing SpanView, against want: ExpectedSpan, floats: [String: Bool], format: TraceFormat, _ at: String) {
        switch format {
        case .v04:
            for (key, field) in Self.v04Keys {
                #expect(span.fields.contains(field) == want.keys.contains(key), "\(at): presence of \(key)")
            }
            let known = Set(Self.v04Keys.map(\.0))
            #expect(want.keys.subtracting(known).isEmpty, "\(at): keys the decoder does not know: \(want.keys.subtracting(known))")
        case .v05:
            #expect(span.fields == .all12, "\(at): fields")
            #expect(want.keys == Set(Self.v04Keys.prefix(11).map(\.0) + ["type"]), "\(at): the 12 v0.5 fields")
        }
        #expect(span.service.string == (want.service ?? ""), "\(at): service")
        #expect(span.name.string == (want.name ?? ""), "\(at): name")
        #expect(span.resource.string == (want.resource ?? ""), "\(at): resource")
        #expect(span.type.string == (want.type ?? ""), "\(at): type")
        #expect(span.traceID == (want.trace_id ?? 0), "\(at): trace_id")
        #expect(span.spanID == (want.span_id ?? 0), "\(at): span_id")
        #expect(span.parentID == (want.parent_id ?? 0), "\(at): parent_id")
        #expect(span.start == (want.start ?? 0), "\(at): start")
        #expect(span.duration == (want.duration ?? 0), "\(at): duration")
        #expect(span.error == (want.error ?? 0), "\(at): error")

        var meta: [String: String] = [:]
        var metaEntries = 0
        span.meta.forEach { k, v in meta[k.string] = v.string; metaEntries += 1 }
        #expect(meta == (want.meta ?? [:]), "\(at): meta")
        #expect(metaEntries == span.meta.count && metaEntries == meta.count, "\(at): meta entry count")

        var metrics: [String: Double] = [:]
        var integers: [String: Bool] = [:]
        span.metrics.forEach { k, v in metrics[k.string] = v.value; integers[k.string] = v.isInteger }
        #expect(metrics == (want.metrics ?? [:]), "\(at): metrics")
        #expect(integers == floats.mapValues { !$0 }, "\(at): metrics int vs float")

        var metaStruct: [String: JSONValue] = [:]
        span.metaStruct.forEach { k, v in
            do {
                metaStruct[k.string] = JSONValue(try MessagePackReader.decode(v.base))
            } catch {
                Issue.record("\(at): meta_struct[\(k.string)] does not decode: \(error)")
            }
        }
        #expect(metaStruct == (want.meta_struct ?? [:]), "\(at): meta_struct")
        if let links = want.span_links {
            #expect(JSONValue(try? MessagePackReader.decode(span.spanLinks.base)) == links, "\(at): span_links")
        }
        if let events = want.span_events {
            #expect(JSONValue(try? MessagePackReader.decode(span.spanEvents.base)) == events, "\(at): span_events")
        }
    }

    @Test func pythonWriterMetricsKeepTheirIntegerType() throws {
        let fixture = try #require(try Fixture.all().first { $0.name.hasPrefix("manual-v04-pywriter/") })
        var integers = 0, floats = 0
        var decoder = TracePayloadDecoder()
        _ = try decoder.visit(fixture.bytes, format: fixture.format) { span in
            span.metrics.forEach { _, v in if v.isInteger { integers += 1 } else { floats += 1 } }
        }
        #expect(integers > 0 && floats > 0, "the legacy writer sends both kinds: \(integers) ints, \(floats) floats")
    }
}

/// One captured payload and its Python decoding.
struct Fixture: CustomTestStringConvertible, Sendable {
    let name: String
    let url: URL
    let format: TraceFormat
    let bytes: [UInt8]

    var testDescription: String { name }

    static var root: URL {
        if let shared = ProcessInfo.processInfo.environment["TRACE_COMPAT_SHARED"] {
            return URL(fileURLWithPath: shared).appendingPathComponent("fixtures")
        }
        // <repo>/Tests/TracePayloadTests/this file → <repo>/../shared/fixtures
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    static func all() throws -> [Fixture] {
        let fm = FileManager.default
        var out: [Fixture] = []
        for scenario in try fm.contentsOfDirectory(atPath: root.path).sorted() {
            let dir = root.appendingPathComponent(scenario)
            for file in (try? fm.contentsOfDirectory(atPath: dir.path))?.sorted() ?? [] where file.hasSuffix(".msgpack") {
                let url = dir.appendingPathComponent(file)
                guard let format = TraceFormat(fileName: file) else { continue }
                out.append(Fixture(name: "\(scenario)/\(file)", url: url, format: format, bytes: try [UInt8](Data(contentsOf: url))))
            }
        }
        return out
    }

    var jsonURL: URL { url.deletingPathExtension().appendingPathExtension("json") }

    func expectedSpans() throws -> [[ExpectedSpan]] {
        try JSONDecoder().decode([[ExpectedSpan]].self, from: Data(contentsOf: jsonURL))
    }

    /// Per span, whether each metric is a JSON float (`1.0`) rather than an int (`3`): JSONDecoder
    /// reads both into any number type, JSONSerialization keeps the distinction.
    func metricKinds() throws -> [[[String: Bool]]] {
        let traces = try JSONSerialization.jsonObject(with: Data(contentsOf: jsonURL)) as! [[[String: Any]]]
        return traces.map { trace in
            trace.map { span in
                (span["metrics"] as? [String: NSNumber] ?? [:]).mapValues { String(cString: $0.objCType) == "d" }
            }
        }
    }

    func expectedCounts() throws -> (traces: Int, spans: Int) {
        struct Counts: Decodable { var traces: Int; var spans: Int }
        let c = try JSONDecoder().decode(Counts.self, from: Data(contentsOf: url.deletingLastPathComponent().appendingPathComponent("expected.json")))
        return (c.traces, c.spans)
    }
}

/// A span as Python's msgpack decoded it; `keys` are the fields the JSON object has.
struct ExpectedSpan: Decodable {
    var keys: Set<String>
    var service, name, resource, type: String?
    var trace_id, span_id, parent_id: UInt64?
    var start, duration: Int64?
    var error: Int32?
    var meta: [String: String]?
    var metrics: [String: Double]?
    var meta_struct: [String: JSONValue]?
    var span_links, span_events: JSONValue?

    struct Key: CodingKey {
        var stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        func get<T: Decodable>(_ k: String) throws -> T? { try c.decodeIfPresent(T.self, forKey: Key(stringValue: k)) }
        keys = Set(c.allKeys.map(\.stringValue))
        service = try get("service"); name = try get("name"); resource = try get("resource"); type = try get("type")
        trace_id = try get("trace_id"); span_id = try get("span_id"); parent_id = try get("parent_id")
        start = try get("start"); duration = try get("duration"); error = try get("error")
        meta = try get("meta"); metrics = try get("metrics"); meta_struct = try get("meta_struct")
        span_links = try get("span_links"); span_events = try get("span_events")
    }
}

/// A JSON value, for comparing decoded msgpack trees with Python's JSON. Numbers that are whole
/// compare as integers on both sides (JSONDecoder cannot tell `1.0` from `1`).
indirect enum JSONValue: Decodable, Equatable {
    case null, bool(Bool), uint(UInt64), int(Int64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let u = try? c.decode(UInt64.self) { self = .uint(u) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    init(_ v: MessagePackValue?) {
        switch v {
        case nil, .nil?: self = .null
        case .bool(let b)?: self = .bool(b)
        case .uint(let u)?: self = .uint(u)
        case .int(let i)?: self = .int(i)
        case .float32(let f)?: self = JSONValue(double: Double(f))
        case .float64(let d)?: self = JSONValue(double: d)
        case .string(let s)?, .binary(let s)?: self = .string(String(decoding: s, as: UTF8.self))
        case .array(let items)?: self = .array(items.map { JSONValue($0) })
        case .map(let entries)?:
            var o: [String: JSONValue] = [:]
            for (k, v) in entries {
                let key: String
                switch k {
                case .string(let s): key = String(decoding: s, as: UTF8.self)
                case .uint(let u): key = String(u)
                case .int(let i): key = String(i)
                default: key = "\(k)"
                }
                o[key] = JSONValue(v)
            }
            self = .object(o)
        case .extension(let type, let data)?: self = .string("ext \(type) \(data)")
        }
    }

    init(double d: Double) {
        if d == d.rounded(), let u = UInt64(exactly: d) { self = .uint(u) }
        else if d == d.rounded(), let i = Int64(exactly: d) { self = .int(i) }
        else { self = .double(d) }
    }
}
