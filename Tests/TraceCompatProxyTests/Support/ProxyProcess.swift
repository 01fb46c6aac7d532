import Foundation
import NIOCore
import Testing

/// The built `trace-compat` binary running `proxy` as a real process (it sits beside the test
/// runner in `.build/<configuration>/`).
final class ProxyProcess: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private let lock = NSLock()
    private var _log = ""

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("trace-compat")
    }

    init(arguments: [String], environment: [String: String] = [:]) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build trace-compat first: \(Self.binary.path)")
        process.executableURL = Self.binary
        process.arguments = ["proxy"] + arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("TRACE_COMPAT_") }
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self._log += String(decoding: data, as: UTF8.self)
            self.lock.unlock()
        }
        try process.run()
    }

    var log: String {
        lock.lock(); defer { lock.unlock() }
        return _log
    }

    /// Waits (up to 20 s) for the start line and returns the port it listens on.
    func waitForListening() async throws -> Int {
        for _ in 0..<400 {
            if let line = log.split(separator: "\n").first(where: { $0.contains("listening on 127.0.0.1:") }) {
                let rest = line[line.range(of: "listening on 127.0.0.1:")!.upperBound...]
                return try #require(Int(rest.prefix { $0.isNumber }))
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the proxy did not start; its output:\n\(log)")
        throw CancellationError()
    }

    /// Waits (up to `seconds`) until the output contains `text`; true if it does. The start line
    /// is logged before the warnings that follow it, so a test that read the log as soon as
    /// `waitForListening` returned could miss them.
    func waitForLog(containing text: String, seconds: Int = 20) async throws -> Bool {
        for _ in 0..<(seconds * 20) {
            if log.contains(text) { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return log.contains(text)
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits (up to 20 s) for the process to exit; returns its status.
    func waitForExit() async throws -> Int32 {
        for _ in 0..<400 where process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            Issue.record("the proxy did not exit; its output:\n\(log)")
        }
        process.waitUntilExit()
        return process.terminationStatus
    }
}

func temporaryDirectory(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tc-\(name)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
