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
/// reported on stderr (one line: file, reason, byte offset) and left out; the others are still
/// printed. Standard output holds a whole document or nothing: when no file decodes, nothing.
struct DecodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Print the spans of captured trace payloads.",
        discussion: """
            Prints one JSON document: an array of traces (of all FILEs in order), each an array of \
            spans with the payload's field names; meta_struct values are decoded. With --table, a \
            header row, then one line per span: service, name, resource, type. A file that fails to \
            decode gets one line on stderr (file, reason, byte offset), is left out, and the exit \
            status is 1; when no file decodes, nothing is printed on standard output.
            """
    )

    @Argument(help: "Captured trace payloads (the body of a /v0.4/traces or /v0.5/traces request).")
    var files: [String]

    @Option(help: "Payload format, v0.4 or v0.5 (default: from each file name).")
    var format: TraceFormat?

    @Flag(help: "A header row, then one line per span (service, name, resource, type) instead of JSON.")
    var table = false

    func run() throws {
        var body: [UInt8] = []
        var decoded = 0
        for path in files {
            do {
                let rendered = try render(path)
                if !table, !rendered.isEmpty, !body.isEmpty { body.append(UInt8(ascii: ",")) }
                body += rendered
                decoded += 1
            } catch {
                let line = "trace-compat decode: \(path): \(error)".replacingOccurrences(of: "\n", with: " ")
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        if decoded > 0 {
            let out = table ? Array(SpanJSON.table.header.utf8) + body : Array("[".utf8) + body + Array("\n]\n".utf8)
            FileHandle.standardOutput.write(Data(out))
        }
        if decoded < files.count { throw ExitCode(1) }
    }

    struct InputError: Error, CustomStringConvertible {
        var description: String
    }

    /// The traces of one file: JSON array elements joined by commas (without the brackets), or
    /// table lines. Nothing of a file that fails is returned. The file is read before its format
    /// is guessed, so a missing file says so rather than "cannot tell the format".
    func render(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw InputError(description: "no such file") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw InputError(description: "cannot read the file (\(error.localizedDescription))")
        }
        let bytes = [UInt8](data)
        if Self.looksLikeJSON(bytes) {
            throw InputError(description: "this is JSON, not msgpack: decode reads the msgpack body of a /v0.4/traces or /v0.5/traces request (the .json beside a fixture is its decoding already)")
        }
        guard let format = format ?? TraceFormat(fileName: (path as NSString).lastPathComponent) else {
            throw InputError(description: "cannot tell the format from the file name (no v0.4 or v0.5 in it): use --format")
        }
        var json = SpanJSON(format: format)
        var decoder = TracePayloadDecoder()
        var openTrace = -1
        let summary = try bytes.withUnsafeBytes { bytes in
            try decoder.visit(bytes, format: format) { span in
                if table {
                    json.tableLine(span)
                    return
                }
                if span.traceIndex != openTrace {
                    if openTrace >= 0 { json.writer.byte("]") }
                    json.traces(from: openTrace + 1, to: span.traceIndex)  // traces without spans
                    json.startTrace(first: span.traceIndex == 0)
                    openTrace = span.traceIndex
                } else {
                    json.writer.byte(",")
                }
                json.writer.byte("\n")
                json.span(span)
            }
        }
        if !table {
            if openTrace >= 0 { json.writer.byte("]") }
            json.traces(from: openTrace + 1, to: summary.traces)
        }
        return json.out
    }

    /// A JSON text rather than msgpack: after optional whitespace, `{` or `[` followed by what can
    /// start a JSON value or close the container. No trace payload can start so: in msgpack these
    /// bytes are positive fixints (`{` is 123, `[` is 91, whitespace 9–32), never the array a v0.4
    /// or v0.5 payload is.
    static func looksLikeJSON(_ bytes: [UInt8]) -> Bool {
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0a, 0x0d]
        var i = 0
        while i < bytes.count, whitespace.contains(bytes[i]) { i += 1 }
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") || bytes[i] == UInt8(ascii: "[") else { return false }
        i += 1
        while i < bytes.count, whitespace.contains(bytes[i]) { i += 1 }
        guard i < bytes.count else { return false }
        return Array(#""{[]}-0123456789tfn"#.utf8).contains(bytes[i])
    }
}
