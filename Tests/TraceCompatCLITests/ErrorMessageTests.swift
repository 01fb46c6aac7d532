import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What a user sees when something is wrong: each failure is one line on stderr that names the
/// command and the file or address at fault, with the exit code of the table in `--help`
/// (0 done, 1 failure, 3 gate failed, 64 argument error).
@Suite(.serialized) struct ErrorMessageTests {
    @Test func auditOfAMissingPathIsOneLineAndExitOne() throws {
        let r = try CLI.run(["audit", "/nonexistent/captures"])
        #expect(r.status == 1)
        #expect(CLI.lines(r.stderr) == ["trace-compat audit: /nonexistent/captures: no such file or folder"])
        #expect(r.stdout.isEmpty)
    }

    /// A CI gate fed the wrong files must not pass: nothing audited is a failure, with or without --fail-on.
    @Test func auditOfOnlyForeignFilesAuditsNothingAndExitsOne() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("hello".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir + "/report.json"))
        for extra in [[], ["--fail-on", "check"], ["--fail-on", "check", "--allow-decode-errors"]] {
            let r = try CLI.run(["audit", dir + "/notes.txt", dir + "/report.json"] + extra)
            #expect(r.status == 1, "\(extra)")
            let lines = CLI.lines(r.stderr)
            #expect(lines.count == 3, "\(r.stderr)")
            #expect(lines.first?.contains(dir + "/notes.txt") == true)
            #expect(lines.last == "trace-compat audit: nothing audited: none of the 2 input(s) could be decoded (see the lines above)")
            #expect(r.stdout.isEmpty)
        }
        // A folder with no captured traffic in it.
        let empty = dir + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let r = try CLI.run(["audit", empty, "--fail-on", "breaks"])
        #expect(r.status == 1)
        #expect(CLI.lines(r.stderr) == ["trace-compat audit: nothing to audit: no captured traffic (*.headers.json, *.msgpack, *.body.json, *.bin or *.response.json) in \(empty)"])
    }

    /// `--sample-limit` as in the proxy; `--samples` still works but is hidden and says it is deprecated.
    @Test func sampleLimitIsTheProxysNameAndSamplesAHiddenAlias() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let v04 = CLI.fixtures + "/manual-v04"
        #expect(try CLI.run(["audit", v04, "--sample-limit", "1", "--json", dir + "/one.json"]).status == 0)
        let old = try CLI.run(["audit", v04, "--samples", "2", "--json", dir + "/two.json"])
        #expect(old.status == 0)
        #expect(CLI.lines(old.stderr) == ["trace-compat audit: --samples is deprecated, use --sample-limit"])
        func limit(_ path: String) throws -> Int? { (try CLI.json(path)["options"] as? [String: Any])?["sample_limit"] as? Int }
        #expect(try limit(dir + "/one.json") == 1)
        #expect(try limit(dir + "/two.json") == 2)
        let help = try CLI.run(["audit", "--help"]).stdout
        #expect(help.contains("--sample-limit") && help.contains("--allow-decode-errors"))
        #expect(!help.contains("--samples"))
    }

    /// An argument error: one line naming the subcommand, then that subcommand's usage (not the root's).
    @Test(arguments: [
        (["audit", "--bogus", "x"], "trace-compat audit: unknown option '--bogus'", "usage: trace-compat audit "),
        (["audit"], "trace-compat audit: missing expected argument '<paths> ...'", "usage: trace-compat audit "),
        (["decode", "--format", "v9", "f.msgpack"], "trace-compat decode: ", "usage: trace-compat decode "),
        (["report", "merge", "a.json"], "trace-compat report merge: report merge needs at least two reports", "usage: trace-compat report merge "),
        (["frobnicate"], "trace-compat: ", "usage: trace-compat "),
    ])
    func argumentErrorsAreOneLinePlusTheCommandsUsage(args: [String], first: String, usage: String) throws {
        let r = try CLI.run(args)
        #expect(r.status == 64)
        let lines = CLI.lines(r.stderr)
        #expect(lines.count == 2, "\(r.stderr)")
        #expect(lines.first?.hasPrefix(first) == true, "\(r.stderr)")
        #expect(lines.last?.hasPrefix(usage) == true, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    /// A failure while running (the arguments were fine): one line, exit 1, no usage.
    @Test func aMissingReportIsOneLineAndExitOne() throws {
        for sub in [["check"], ["render"]] {
            let r = try CLI.run(["report"] + sub + ["/nonexistent/r.json"])
            #expect(r.status == 1)
            #expect(CLI.lines(r.stderr) == ["trace-compat report \(sub[0]): /nonexistent/r.json: no such file"])
        }
    }

    @Test func rootHelpHasTheExitCodeTable() throws {
        let r = try CLI.run(["--help"])
        #expect(r.status == 0)
        for code in ["  0   done", "  1   a failure", "  3   the gate failed", "  64  an argument error"] {
            #expect(r.stdout.contains(code), "\(code)")
        }
        // The replayer and its stub are a benchmark tool of their own (`trace-replay`), not product.
        #expect(r.stdout.contains("  audit") && r.stdout.contains("  proxy"))
        #expect(!r.stdout.contains("replay"))
        let replay = try CLI.run(["replay", "--serve"])
        #expect(replay.status == 64)
    }

    /// The proxy on an address already taken: one line naming it and what to do, exit 1.
    @Test func proxyOnAnAddressInUseSaysSo() throws {
        let (fd, port) = try Self.listeningSocket()
        defer { close(fd) }
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["proxy", "--listen", "127.0.0.1:\(port)", "--upstream", "none", "--report", dir + "/r.json"], timeout: 30)
        #expect(r.status == 1)
        #expect(CLI.lines(r.stderr) == ["trace-compat proxy: cannot listen on 127.0.0.1:\(port): address already in use (another trace-compat running? stop it, or choose another address with --listen HOST:PORT)"], "\(r.stderr)")
    }

    /// A TCP socket listening on a free loopback port.
    static func listeningSocket() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && listen(fd, 1) == 0 && getsockname(fd, sa, &len) == 0
            }
        }
        try #require(fd >= 0 && ok)
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }
}
