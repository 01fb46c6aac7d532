import Foundation
import MsgpackCBaseline
import TracePayload

/// One payload to decode: a fixture file or the generated payload.
public struct BenchmarkPayload: Sendable {
    public var name: String
    public var bytes: [UInt8]
    public var format: TraceFormat
    public var spans: Int

    public var sizeLabel: String {
        bytes.count >= 1_000_000
            ? String(format: "%.1f MB", Double(bytes.count) / 1_000_000)
            : String(format: "%.1f KB", Double(bytes.count) / 1_000)
    }

    /// The fixtures (in folder order) and the generated payload. Each is decoded once by both
    /// sides here, so a benchmark never measures a decoder that fails on its input.
    public static func all() -> [BenchmarkPayload] {
        fixtures() + [generated()]
    }

    /// Every `*.msgpack` under the fixtures folder, named after its folder.
    public static func fixtures() -> [BenchmarkPayload] {
        var payloads: [BenchmarkPayload] = []
        let root = fixturesDirectory()
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        for folder in folders.sorted() {
            let dir = root.appendingPathComponent(folder)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for file in files.sorted() where file.hasSuffix(".msgpack") {
                guard let format = TraceFormat(fileName: file),
                      let data = FileManager.default.contents(atPath: dir.appendingPathComponent(file).path)
                else { continue }
                payloads.append(checked(name: folder, bytes: [UInt8](data), format: format))
            }
        }
        precondition(!payloads.isEmpty, "no fixtures under \(root.path): set TRACE_COMPAT_FIXTURES")
        return payloads
    }

    /// The generated 30,000-span v0.4 payload.
    public static func generated() -> BenchmarkPayload {
        let p = checked(name: "generated-v04", bytes: GeneratedPayload.v04(), format: .v04)
        precondition(p.spans == GeneratedPayload.spanCount)
        return p
    }

    static func checked(name: String, bytes: [UInt8], format: TraceFormat) -> BenchmarkPayload {
        var decoder = TracePayloadDecoder()
        let spans = (try? bytes.withUnsafeBytes { try decoder.visit($0, format: format) { _ in }.spans }) ?? -1
        precondition(spans >= 0, "TracePayloadDecoder rejects \(name)")
        // msgpack-c must accept it too; called directly, not through `decodeMsgpackC`, the
        // function callgrind's scripts count (`--toggle-collect`): these checks of every fixture
        // at load time were counted with the measured loop's calls, ~5.2 M instructions spread
        // over its iterations (Benchmarks/RESULTS.md, "The msgpack-c baseline counted its
        // fixture checks").
        var sum: UInt64 = 0, objects: UInt64 = 0
        let rc = bytes.withUnsafeBytes { msgpack_baseline_decode($0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count, &sum, &objects) }
        precondition(rc == 0, "msgpack-c rejects \(name)")
        return BenchmarkPayload(name: name, bytes: bytes, format: format, spans: spans)
    }

    /// `$TRACE_COMPAT_FIXTURES`, else `../shared/fixtures` beside the repository this file is in.
    public static func fixturesDirectory() -> URL {
        if let dir = ProcessInfo.processInfo.environment["TRACE_COMPAT_FIXTURES"] { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: #filePath)  // <repo>/Benchmarks/Sources/DecoderWorkloads/this.swift
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/fixtures")
    }
}
