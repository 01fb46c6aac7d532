import Foundation
import Testing

/// Runs the built `trace-compat decode` as a real process.
@Suite struct DecodeCommandTests {
    /// The `trace-compat` binary built beside this test bundle (the products directory).
    static var binary: URL {
        let candidates = [
            URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        for dir in candidates {
            let url = dir.appendingPathComponent("trace-compat")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return candidates[0].appendingPathComponent("trace-compat")
    }

    static var fixtures: URL {
        if let shared = ProcessInfo.processInfo.environment["TRACE_COMPAT_SHARED"] {
            return URL(fileURLWithPath: shared).appendingPathComponent("fixtures")
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }

    struct Run {
        var status: Int32
        var stdout: Data
        var stderr: String
    }

    static func run(_ arguments: [String]) throws -> Run {
        let p = Process()
        p.executableURL = binary
        p.arguments = ["decode"] + arguments
        // stderr into a file and stdout through a pipe read to the end: a large output cannot
        // block the child.
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("decode-stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? FileManager.default.removeItem(at: errURL) }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = errHandle
        try p.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try errHandle.close()
        let stderr = try Data(contentsOf: errURL)
        return Run(status: p.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func payload(_ scenario: String) throws -> URL {
        let dir = fixtures.appendingPathComponent(scenario)
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path).first { $0.hasSuffix(".msgpack") })
        return dir.appendingPathComponent(name)
    }

    static func temporaryFile(_ name: String, _ bytes: [UInt8]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("decode-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    @Test(arguments: ["manual-v04", "manual-v04-pywriter", "manual-v05", "django-full-v04", "django-full-v05", "django-minimal-v04"])
    func jsonEqualsPythonDecoding(scenario: String) throws {
        let file = try Self.payload(scenario)
        let r = try Self.run([file.path])
        #expect(r.status == 0, "stderr: \(r.stderr)")
        #expect(r.stderr.isEmpty)
        let ours = try JSONSerialization.jsonObject(with: r.stdout) as? NSArray
        let python = try JSONSerialization.jsonObject(with: Data(contentsOf: file.deletingPathExtension().appendingPathExtension("json"))) as? NSArray
        try #require(ours != nil && python != nil)
        #expect(ours!.count == python!.count)
        #expect(ours!.isEqual(python!), "decode output differs from the Python decoding of \(scenario)")
    }

    @Test func integerMetricsStayIntegersAndFloatsFloats() throws {
        let legacy = String(decoding: try Self.run([try Self.payload("manual-v04-pywriter").path]).stdout, as: UTF8.self)
        let native = String(decoding: try Self.run([try Self.payload("manual-v04").path]).stdout, as: UTF8.self)
        #expect(legacy.contains("\"retry.count\":3,") || legacy.contains("\"retry.count\":3}"))
        #expect(native.contains("\"retry.count\":3.0"))
        #expect(native.contains("\"meta_struct\":{\"my.struct\":{\"a\":[1,2],\"b\":\"x\"}}"))
    }

    @Test func tablePrintsOneLinePerSpan() throws {
        let r = try Self.run(["--table", try Self.payload("manual-v05").path])
        #expect(r.status == 0)
        let lines = String(decoding: r.stdout, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 1 + 15)
        #expect(lines.first == "service            name                         resource                                      type")
        #expect(lines.dropFirst().first?.hasPrefix("manual-svc         web.request") == true)
    }

    @Test func damagedFileGetsOneLineWithTheOffsetAndExitOne() throws {
        // The first span (byte 2: after the payload and trace array headers) replaced by 0xc1.
        var bytes = try [UInt8](Data(contentsOf: try Self.payload("manual-v04")))
        bytes[2] = 0xc1
        let bad = try Self.temporaryFile("bad-v0.4_traces.msgpack", bytes)
        // [[{"service": "ab… cut three bytes short: the string starts at byte 11.
        let cut = try Self.temporaryFile("cut-v0.4.msgpack", [0x91, 0x91, 0x81, 0xa7] + Array("service".utf8) + [0xa5, 0x61, 0x62])
        let good = try Self.payload("manual-v05")
        let r = try Self.run([bad.path, good.path, cut.path])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 2, "one line per bad file: \(r.stderr)")
        #expect(lines.first?.contains(bad.path) == true && lines.first?.contains("0xc1") == true && lines.first?.hasSuffix("byte offset 2") == true, "\(r.stderr)")
        #expect(lines.last?.contains(cut.path) == true && lines.last?.contains("truncated") == true && lines.last?.hasSuffix("byte offset 11") == true, "\(r.stderr)")
        // The good file is still printed, as a valid document.
        let traces = try JSONSerialization.jsonObject(with: r.stdout) as? [[Any]]
        #expect(traces?.count == 1 && traces?.first?.count == 15)
    }

    @Test func formatOptionOverridesTheFileName() throws {
        let bytes = try [UInt8](Data(contentsOf: try Self.payload("manual-v05")))
        let file = try Self.temporaryFile("payload.bin", bytes)
        let unnamed = try Self.run([file.path])
        #expect(unnamed.status == 1 && unnamed.stderr.contains("--format"))
        let named = try Self.run(["--format", "v0.5", file.path])
        #expect(named.status == 0)
        #expect((try JSONSerialization.jsonObject(with: named.stdout) as? [[Any]])?.first?.count == 15)
        // Read as v0.4, the same bytes are a type error at the string table.
        let wrong = try Self.run(["--format", "v0.4", file.path])
        #expect(wrong.status == 1 && wrong.stderr.contains("byte offset"))
    }

    /// A missing file says so, naming it, before any guess about its format; nothing reaches stdout.
    @Test func missingFileIsNoSuchFile() throws {
        for name in ["/nonexistent/payload.bin", "/nonexistent/001-POST-v0.4_traces.msgpack"] {
            let r = try Self.run([name])
            #expect(r.status == 1)
            #expect(r.stderr == "trace-compat decode: \(name): no such file\n")
            #expect(r.stdout.isEmpty, "stdout: \(String(decoding: r.stdout, as: UTF8.self))")
        }
    }

    /// The decoded .json beside a fixture (or any JSON) is named as JSON, whatever its file name says.
    @Test func jsonInputIsNamedAsJSON() throws {
        let decoded = try Self.payload("manual-v04").deletingPathExtension().appendingPathExtension("json")
        let spaced = try Self.temporaryFile("x-v0.5.msgpack", Array(" \n[ {\"a\": 1} ]".utf8))
        for file in [decoded, spaced] {
            let r = try Self.run([file.path])
            #expect(r.status == 1)
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("trace-compat decode: \(file.path): this is JSON, not msgpack"), "\(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
        // In msgpack a leading `[` is the integer 91: without JSON after it, the decoder's own error.
        let notJSON = try Self.temporaryFile("y-v0.4.msgpack", [0x5b, 0x01])
        let r = try Self.run([notJSON.path])
        #expect(r.status == 1 && !r.stderr.contains("JSON") && r.stderr.contains("byte offset 0"), "\(r.stderr)")
    }

    /// With --table too, a file that fails prints nothing (not even the header).
    @Test func aFailedTableIsEmpty() throws {
        let r = try Self.run(["--table", "/nonexistent/a-v0.4.msgpack"])
        #expect(r.status == 1 && r.stdout.isEmpty)
    }
}
