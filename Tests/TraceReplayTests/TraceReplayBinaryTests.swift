import AgentImitation
import Foundation
import Testing
@testable import TraceReplay

/// The built `trace-replay` executable as the harness runs it: a real process against an
/// in-process stub, its `--json` result read back.
@Suite struct TraceReplayBinaryTests {
    /// Beside the test runner in `.build/<config>`.
    static let binary: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.deletingLastPathComponent()
        var candidates: [String] = []
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("trace-replay").path)
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func replaysTracePayloadsByteForByteAndPrintsJSON() async throws {
        let stub = try await AgentStub.start(listen: .tcp(host: "127.0.0.1", port: 0), recordSHA: true, threads: 1)
        guard case .tcp(_, let port) = stub.address else { throw ReplayError.badOptions("not tcp") }
        let r = try Self.run([fixturesDirectory + "/django-full-v04", "--traces-only", "--target", "http://127.0.0.1:\(port)",
                              "--count", "7", "--connections", "2", "--verify", "--json", "--quiet"])
        let stats = stub.stats
        await stub.close()
        #expect(r.status == 0)
        let result = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(result["ok"] as? Int == 7)
        let verification = try #require(result["verification"] as? [String: Any])
        #expect(verification["byteForByte"] as? Bool == true)
        #expect(stats.paths == ["/v0.4/traces": 7])
        let body = try #require(FileManager.default.contents(atPath: fixturesDirectory + "/django-full-v04/003-POST-v0.4_traces.msgpack"))
        #expect(stats.bodies == [SHA256.hex([UInt8](body)): 7])
    }

    @Test func aMissingInputIsOneErrorAndExit1() throws {
        let r = try Self.run(["/nonexistent", "--target", "http://127.0.0.1:9"])
        #expect(r.status != 0)
    }
}
