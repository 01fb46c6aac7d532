import AgentImitation
import Foundation
import Testing
@testable import TraceReplay

@Suite struct ReplayInputTests {
    @Test func fixturesLoadWithTheirCapturedHeadersAndSpanCounts() throws {
        let payloads = try ReplayPayload.load([fixturesDirectory], selecting: .traces)
        #expect(payloads.count == 6)
        for p in payloads {
            // name: "<fixture folder>/<file>"; the folder's expected.json has the span count.
            let folder = try #require(p.name.split(separator: "/").first)
            let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(fixturesDirectory)/\(folder)/expected.json"))) as! [String: Any]
            #expect(p.spans == expected["spans"] as? Int, "\(p.name)")
            #expect(p.path.hasSuffix("/traces"))
            #expect(["PUT", "POST"].contains(p.method))
            // Host and Content-Length are the replayer's own.
            #expect(!p.headers.contains { ["host", "content-length"].contains($0.0.lowercased()) })
            #expect(p.headers.contains { $0.0.lowercased() == "content-type" && $0.1 == "application/msgpack" })
        }
        let pywriter = try #require(payloads.first { $0.name == "manual-v04-pywriter/001-PUT-v0.4_traces.msgpack" })
        #expect(pywriter.method == "PUT")
    }

    @Test func aBodyWithoutHeadersGetsTheFormatItsNameSays() throws {
        let dir = NSTemporaryDirectory() + "replay-input-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = fixturesDirectory + "/manual-v05/001-POST-v0.5_traces.msgpack"
        try FileManager.default.copyItem(atPath: source, toPath: dir + "/capture-v0.5.msgpack")
        let p = try #require(try ReplayPayload.load([dir + "/capture-v0.5.msgpack"]).first)
        // CaptureSet's one default (audit's too): POST, and the media type the agent needs to
        // decode msgpack rather than JSON.
        #expect(p.method == "POST" && p.path == "/v0.5/traces" && p.spans == 15)
        #expect(p.headers.map { "\($0.0): \($0.1)" } == ["Content-Type: application/msgpack"])
    }

    @Test func missingInputIsAClearError() {
        #expect(throws: ReplayError.unreadable("/nonexistent", "no such file or folder")) { try ReplayPayload.load(["/nonexistent"]) }
        let empty = NSTemporaryDirectory() + "replay-empty-\(getpid())"
        try? FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: empty) }
        #expect(throws: ReplayError.noPayloads([empty])) { try ReplayPayload.load([empty]) }
    }

    /// Against coreutils' sha256sum on a real fixture (a body spanning many blocks).
    @Test func sha256AgreesWithSha256sum() throws {
        let file = fixturesDirectory + "/django-full-v04/003-POST-v0.4_traces.msgpack"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [file]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let body = try #require(FileManager.default.contents(atPath: file))
        #expect(String(output.prefix(64)) == SHA256.hex([UInt8](body)))
    }

    @Test func targetsParse() throws {
        #expect(try ReplayTarget("http://127.0.0.1:8126") == .tcp(host: "127.0.0.1", port: 8126))
        #expect(try ReplayTarget("localhost:9000/v0.4/traces") == .tcp(host: "localhost", port: 9000))
        #expect(try ReplayTarget("http://[::1]:8126") == .tcp(host: "::1", port: 8126))
        #expect(try ReplayTarget("unix:///var/run/datadog/apm.socket") == .unix(path: "/var/run/datadog/apm.socket"))
        #expect(throws: ReplayError.self) { try ReplayTarget("https://x:1") }
        #expect(throws: ReplayError.self) { try ReplayTarget("host:99999") }
        #expect(throws: ReplayError.self) { try ReplayTarget("unix://relative.sock") }
    }

    /// FIPS 180-4 test vectors (one block, two blocks, a million bytes).
    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex([UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
