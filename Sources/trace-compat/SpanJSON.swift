import MessagePack
import TextOutput
import TracePayload

/// Renders spans as JSON with Python's field names and value shapes (what Python's msgpack +
/// `json.dumps(default=repr)` made of the fixtures), or as table lines.
struct SpanJSON {
    let format: TraceFormat
    var writer = JSONWriter()

    /// The columns of `decode --table`, laid out as `generate/decode.py` prints them.
    static let table = TextTable([
        .init("service", width: 18), .init("name", width: 28), .init("resource", width: 45, limit: 45), .init("type", width: 0),
    ])

    init(format: TraceFormat) { self.format = format }

    var out: [UInt8] { writer.bytes }

    /// Opens the array of one trace (a comma before it unless it is the file's first).
    mutating func startTrace(first: Bool) { writer.raw(first ? "\n[" : ",\n[") }

    /// Empty traces `from..<to` (a v0.4 payload may hold traces without spans).
    mutating func traces(from: Int, to: Int) {
        for t in from..<max(from, to) { startTrace(first: t == 0); writer.byte("]") }
    }

    mutating func span(_ s: borrowing SpanView) {
        let f = s.fields
        let all = format == .v05
        var first = true
        writer.byte("{")
        if all || f.contains(.service) { writer.key("service", first: &first); writer.string(s.service.string) }
        if all || f.contains(.name) { writer.key("name", first: &first); writer.string(s.name.string) }
        if all || f.contains(.resource) { writer.key("resource", first: &first); writer.string(s.resource.string) }
        if all || f.contains(.traceID) { writer.key("trace_id", first: &first); writer.raw(String(s.traceID)) }
        if all || f.contains(.spanID) { writer.key("span_id", first: &first); writer.raw(String(s.spanID)) }
        if all || f.contains(.parentID) { writer.key("parent_id", first: &first); writer.raw(String(s.parentID)) }
        if all || f.contains(.start) { writer.key("start", first: &first); writer.raw(String(s.start)) }
        if all || f.contains(.duration) { writer.key("duration", first: &first); writer.raw(String(s.duration)) }
        if all || f.contains(.error) { writer.key("error", first: &first); writer.raw(String(s.error)) }
        if all || f.contains(.meta) {
            writer.key("meta", first: &first)
            var firstTag = true
            writer.byte("{")
            s.meta.forEach { k, v in writer.key(k.string, first: &firstTag); writer.string(v.string) }
            writer.byte("}")
        }
        if all || f.contains(.metrics) {
            writer.key("metrics", first: &first)
            var firstMetric = true
            writer.byte("{")
            s.metrics.forEach { k, v in
                writer.key(k.string, first: &firstMetric)
                if v.isInteger, let i = Int64(exactly: v.value) { writer.raw(String(i)) } else if v.isInteger, let u = UInt64(exactly: v.value) { writer.raw(String(u)) } else { writer.float(v.value) }
            }
            writer.byte("}")
        }
        if f.contains(.metaStruct) {
            writer.key("meta_struct", first: &first)
            var firstEntry = true
            writer.byte("{")
            s.metaStruct.forEach { k, v in
                writer.key(k.string, first: &firstEntry)
                if let value = try? MessagePackReader.decode(v.base) { self.value(value) } else { writer.string(PythonBytesRepr.repr(v.bytes)) }
            }
            writer.byte("}")
        }
        if all || f.contains(.type) { writer.key("type", first: &first); writer.string(s.type.string) }
        if f.contains(.spanLinks) { writer.key("span_links", first: &first); rawValue(s.spanLinks) }
        if f.contains(.spanEvents) { writer.key("span_events", first: &first); rawValue(s.spanEvents) }
        writer.byte("}")
    }

    /// A raw msgpack sub-document (span_links, span_events); an empty view (nil on the wire) is null.
    mutating func rawValue(_ v: ByteView) {
        if let value = try? MessagePackReader.decode(v.base) { self.value(value) } else { writer.raw("null") }
    }

    /// A decoded msgpack value as Python's msgpack + `json.dumps(default=repr)` shows it.
    mutating func value(_ v: MessagePackValue) {
        switch v {
        case .nil: writer.raw("null")
        case .bool(let b): writer.raw(b ? "true" : "false")
        case .int(let i): writer.raw(String(i))
        case .uint(let u): writer.raw(String(u))
        case .float32(let f): writer.float(Double(f))
        case .float64(let d): writer.float(d)
        case .string(let s): writer.string(String(decoding: s, as: UTF8.self))
        case .binary(let b): writer.string(PythonBytesRepr.repr(b))
        case .extension(let type, let data):
            if let ts = v.timestamp {
                writer.string("Timestamp(seconds=\(ts.seconds), nanoseconds=\(ts.nanoseconds))")
            } else {
                writer.string("ExtType(code=\(type), data=\(PythonBytesRepr.repr(data)))")
            }
        case .array(let items):
            writer.byte("[")
            for (i, item) in items.enumerated() {
                if i > 0 { writer.byte(",") }
                value(item)
            }
            writer.byte("]")
        case .map(let entries):
            writer.byte("{")
            var first = true
            for (k, item) in entries {
                writer.key(Self.keyText(k), first: &first)
                value(item)
            }
            writer.byte("}")
        }
    }

    /// A map key as JSON needs it: a string; other scalars spelled as Python's json spells them.
    static func keyText(_ k: MessagePackValue) -> String {
        switch k {
        case .string(let s): return String(decoding: s, as: UTF8.self)
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .bool(let b): return b ? "true" : "false"
        case .nil: return "null"
        case .float32(let f): return Double(f).description
        case .float64(let d): return d.description
        case .binary(let b): return PythonBytesRepr.repr(b)
        default:
            var nested = SpanJSON(format: .v04)
            nested.value(k)
            return String(decoding: nested.out, as: UTF8.self)
        }
    }

    /// One table line (service, name, resource cut to 45, type).
    mutating func tableLine(_ s: borrowing SpanView) {
        writer.raw(Self.table.line([s.service.string, s.name.string, s.resource.string, s.type.string]))
    }
}
