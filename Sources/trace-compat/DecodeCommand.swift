import ArgumentParser
import Foundation
import MessagePack
import TracePayload

extension TraceFormat: ExpressibleByArgument {}

/// `trace-compat decode FILE…`: the spans of captured trace payloads, as JSON or as a table.
///
/// The JSON has the shape and field names of the `*.json` files beside the fixtures (what
/// Python's msgpack makes of the payload): one array of traces, each an array of span objects.
/// A v0.4 span carries the keys its map had; a v0.5 span all 12. A file that does not decode is
/// reported on stderr with the byte offset and left out; the others are still printed.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print the spans of captured trace payloads.",
        discussion: """
            Prints one JSON document: an array of traces (of all FILEs in order), each an array of \
            spans with the payload's field names; meta_struct values are decoded. With --table, one \
            line per span: service, name, resource, type. A file that fails to decode gets one line \
            on stderr (file, reason, byte offset) and the exit status is 1.
            """
    )

    @Argument(help: "Captured trace payloads (the body of a /v0.4/traces or /v0.5/traces request).")
    var files: [String]

    @Option(help: "Payload format, v0.4 or v0.5 (default: from each file name).")
    var format: TraceFormat?

    @Flag(help: "One line per span (service, name, resource, type) instead of JSON.")
    var table = false

    func run() throws {
        var out: [UInt8] = []
        var failed = false
        var firstTrace = true
        if !table { out.append(UInt8(ascii: "[")) }
        for path in files {
            do {
                let rendered = try render(path)
                if table {
                    out += rendered
                } else if !rendered.isEmpty {
                    if !firstTrace { out.append(UInt8(ascii: ",")) }
                    out += rendered
                    firstTrace = false
                }
            } catch {
                failed = true
                FileHandle.standardError.write(Data("trace-compat decode: \(path): \(error)\n".utf8))
            }
        }
        if !table { out += Array("\n]\n".utf8) }
        FileHandle.standardOutput.write(Data(out))
        if failed { throw ExitCode(1) }
    }

    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    /// The traces of one file: JSON array elements joined by commas (without the brackets), or
    /// table lines. Nothing of a file that fails is returned.
    func render(_ path: String) throws -> [UInt8] {
        guard let format = format ?? TraceFormat(fileName: (path as NSString).lastPathComponent) else {
            throw UsageError(description: "cannot tell the format from the file name (no v0.4 or v0.5 in it): use --format")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw UsageError(description: "cannot read the file (\(error.localizedDescription))")
        }
        var json = SpanJSON(format: format)
        var decoder = TracePayloadDecoder()
        var openTrace = -1
        let summary = try [UInt8](data).withUnsafeBytes { bytes in
            try decoder.visit(bytes, format: format) { span in
                if table {
                    json.tableLine(span)
                    return
                }
                if span.traceIndex != openTrace {
                    if openTrace >= 0 { json.out.append(UInt8(ascii: "]")) }
                    json.traces(from: openTrace + 1, to: span.traceIndex)  // traces without spans
                    json.startTrace(first: span.traceIndex == 0)
                    openTrace = span.traceIndex
                } else {
                    json.out.append(UInt8(ascii: ","))
                }
                json.out.append(UInt8(ascii: "\n"))
                json.span(span)
            }
        }
        if !table {
            if openTrace >= 0 { json.out.append(UInt8(ascii: "]")) }
            json.traces(from: openTrace + 1, to: summary.traces)
        }
        return json.out
    }
}

/// Renders spans as JSON (Python's field names and value shapes) or as table lines.
struct SpanJSON {
    let format: TraceFormat
    var out: [UInt8] = []

    init(format: TraceFormat) { self.format = format }

    mutating func raw(_ s: String) { out += Array(s.utf8) }

    /// Opens the array of one trace (a comma before it unless it is the file's first).
    mutating func startTrace(first: Bool) { raw(first ? "\n[" : ",\n[") }

    /// Empty traces `from..<to` (a v0.4 payload may hold traces without spans).
    mutating func traces(from: Int, to: Int) {
        for t in from..<max(from, to) { startTrace(first: t == 0); out.append(UInt8(ascii: "]")) }
    }

    mutating func key(_ k: String, first: inout Bool) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        string(k)
        out.append(UInt8(ascii: ":"))
    }

    /// A JSON string; invalid UTF-8 is repaired with U+FFFD, as Python's `errors='replace'`.
    mutating func string(_ s: String) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0a: raw("\\n")
            case 0x0d: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20, 0x7f: raw("\\u00" + (b < 16 ? "0" : "") + String(b, radix: 16))
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    mutating func string(_ v: ByteView) { string(v.string) }

    /// A float as Python prints it (shortest round-trip form, `3.0` not `3`); non-finite values,
    /// which JSON cannot hold, as the strings "NaN", "Infinity", "-Infinity".
    mutating func float(_ d: Double) {
        if d.isNaN { string("NaN"); return }
        if d.isInfinite { string(d < 0 ? "-Infinity" : "Infinity"); return }
        raw(d.description)
    }

    mutating func span(_ s: borrowing SpanView) {
        let f = s.fields
        let all = format == .v05
        var first = true
        out.append(UInt8(ascii: "{"))
        if all || f.contains(.service) { key("service", first: &first); string(s.service) }
        if all || f.contains(.name) { key("name", first: &first); string(s.name) }
        if all || f.contains(.resource) { key("resource", first: &first); string(s.resource) }
        if all || f.contains(.traceID) { key("trace_id", first: &first); raw(String(s.traceID)) }
        if all || f.contains(.spanID) { key("span_id", first: &first); raw(String(s.spanID)) }
        if all || f.contains(.parentID) { key("parent_id", first: &first); raw(String(s.parentID)) }
        if all || f.contains(.start) { key("start", first: &first); raw(String(s.start)) }
        if all || f.contains(.duration) { key("duration", first: &first); raw(String(s.duration)) }
        if all || f.contains(.error) { key("error", first: &first); raw(String(s.error)) }
        if all || f.contains(.meta) {
            key("meta", first: &first)
            var firstTag = true
            out.append(UInt8(ascii: "{"))
            s.meta.forEach { k, v in key(k.string, first: &firstTag); string(v) }
            out.append(UInt8(ascii: "}"))
        }
        if all || f.contains(.metrics) {
            key("metrics", first: &first)
            var firstMetric = true
            out.append(UInt8(ascii: "{"))
            s.metrics.forEach { k, v in
                key(k.string, first: &firstMetric)
                if v.isInteger, let i = Int64(exactly: v.value) { raw(String(i)) } else if v.isInteger, let u = UInt64(exactly: v.value) { raw(String(u)) } else { float(v.value) }
            }
            out.append(UInt8(ascii: "}"))
        }
        if f.contains(.metaStruct) {
            key("meta_struct", first: &first)
            var firstEntry = true
            out.append(UInt8(ascii: "{"))
            s.metaStruct.forEach { k, v in
                key(k.string, first: &firstEntry)
                if let value = try? MessagePackReader.decode(v.base) { self.value(value) } else { string(Self.pythonBytes(v.bytes)) }
            }
            out.append(UInt8(ascii: "}"))
        }
        if all || f.contains(.type) { key("type", first: &first); string(s.type) }
        if f.contains(.spanLinks) { key("span_links", first: &first); rawValue(s.spanLinks) }
        if f.contains(.spanEvents) { key("span_events", first: &first); rawValue(s.spanEvents) }
        out.append(UInt8(ascii: "}"))
    }

    /// A raw msgpack sub-document (span_links, span_events); an empty view (nil on the wire) is null.
    mutating func rawValue(_ v: ByteView) {
        if let value = try? MessagePackReader.decode(v.base) { self.value(value) } else { raw("null") }
    }

    /// A decoded msgpack value as Python's msgpack + `json.dumps(default=repr)` shows it.
    mutating func value(_ v: MessagePackValue) {
        switch v {
        case .nil: raw("null")
        case .bool(let b): raw(b ? "true" : "false")
        case .int(let i): raw(String(i))
        case .uint(let u): raw(String(u))
        case .float32(let f): float(Double(f))
        case .float64(let d): float(d)
        case .string(let s): string(String(decoding: s, as: UTF8.self))
        case .binary(let b): string(Self.pythonBytes(b))
        case .extension(let type, let data):
            if let ts = v.timestamp {
                string("Timestamp(seconds=\(ts.seconds), nanoseconds=\(ts.nanoseconds))")
            } else {
                string("ExtType(code=\(type), data=\(Self.pythonBytes(data)))")
            }
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                value(item)
            }
            out.append(UInt8(ascii: "]"))
        case .map(let entries):
            out.append(UInt8(ascii: "{"))
            var first = true
            for (k, item) in entries {
                key(Self.keyText(k), first: &first)
                value(item)
            }
            out.append(UInt8(ascii: "}"))
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
        case .binary(let b): return pythonBytes(b)
        default:
            var nested = SpanJSON(format: .v04)
            nested.value(k)
            return String(decoding: nested.out, as: UTF8.self)
        }
    }

    /// Python's `repr(bytes)`: b'...' with \x escapes for what is not printable ASCII.
    static func pythonBytes(_ bytes: [UInt8]) -> String {
        let quote: UInt8 = bytes.contains(UInt8(ascii: "'")) && !bytes.contains(UInt8(ascii: "\"")) ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        var s = "b" + String(UnicodeScalar(quote))
        for b in bytes {
            switch b {
            case UInt8(ascii: "\\"): s += "\\\\"
            case quote: s += "\\" + String(UnicodeScalar(b))
            case 0x09: s += "\\t"
            case 0x0a: s += "\\n"
            case 0x0d: s += "\\r"
            case 0x20..<0x7f: s.unicodeScalars.append(UnicodeScalar(b))
            default: s += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return s + String(UnicodeScalar(quote))
    }

    /// One table line, laid out as `generate/decode.py` prints it.
    mutating func tableLine(_ s: borrowing SpanView) {
        func pad(_ t: String, _ width: Int) -> String { t.count >= width ? t : t + String(repeating: " ", count: width - t.count) }
        let resource = String(s.resource.string.prefix(45))
        var line = pad(s.service.string, 18) + " " + pad(s.name.string, 28) + " " + pad(resource, 45) + " " + s.type.string
        line = line.replacingOccurrences(of: "\n", with: "\\n")
        raw(line + "\n")
    }
}
