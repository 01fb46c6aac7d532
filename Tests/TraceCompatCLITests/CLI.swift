import Foundation

/// Runs the built `trace-compat` binary as a real process and collects its exit status, stdout and
/// stderr: the CLI tests check what a user sees, not the commands' internals.
enum CLI {
    /// The binary sits in the same `.build/<config>` folder as the test runner.
    static let binary: String = {
        var candidates: [String] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        var dir = argv0.deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("trace-compat").path)
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: Bundle.main.bundlePath).deletingLastPathComponent().appendingPathComponent("trace-compat").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }()

    static let fixtures: String = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
    }()

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs the binary to its end; after `timeout` seconds it is terminated (a proxy that should
    /// have failed to start must not hang the suite).
    static func run(_ args: [String], timeout: Double = 120) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let out = Pipe()
        let errFile = FileManager.default.temporaryDirectory.appendingPathComponent("cli-stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errFile.path, contents: nil)
        let err = try FileHandle(forWritingTo: errFile)
        p.standardOutput = out
        p.standardError = err
        try p.run()
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if p.isRunning { p.terminate() } }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try err.close()
        let errText = (try? String(contentsOf: errFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: errFile)
        return Result(status: p.terminationStatus, stdout: String(decoding: data, as: UTF8.self), stderr: errText)
    }

    static func lines(_ text: String) -> [String] { text.split(separator: "\n").map(String.init) }

    static func tempDir() throws -> String {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("trace-compat-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }
}
