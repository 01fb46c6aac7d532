import CompatReport
import Foundation
import NIOCore
import Testing
import TraceCompatProxy

extension SocketSuites {
/// The `trace-compat proxy` process at the fd limit and with a damaged report file: neither
/// stops forwarding nor loses the report.
@Suite(.serialized) struct ResilienceProcessTests {
    /// 300 idle connections against a limit of 256 descriptors: accepting fails with EMFILE.
    /// Without a backoff the listener stays readable and the event loop spins on it (a whole
    /// core); with it the proxy sleeps, and the report written meanwhile fails and is retried.
    @Test(.timeLimit(.minutes(2))) func atTheFdLimitTheProxyNeitherSpinsNorLosesTheReport() async throws {
        let directory = try temporaryDirectory("emfile")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reportPath = directory.appendingPathComponent("report.json").path
        let proxy = try ProxyProcess(arguments: ["--listen", "127.0.0.1:0", "--upstream", "none", "--report", reportPath,
                                                 "--flush-interval", "0.5", "--fresh"])
        let port = try await proxy.waitForListening()
        let pid = proxy.process.processIdentifier
        let limit = Process()
        limit.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        limit.arguments = ["--pid", String(pid), "--nofile=256:256"]
        try limit.run()
        limit.waitUntilExit()
        try #require(limit.terminationStatus == 0, "prlimit failed")

        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        for _ in 0..<300 { sockets.append(try Self.connectBlocking(port: port)) }
        #expect(try await proxy.waitForLog(containing: "cannot accept connections", seconds: 5), "\(proxy.log)")

        let before = try Self.cpuSeconds(pid)
        try await Task.sleep(for: .seconds(5))
        let used = try Self.cpuSeconds(pid) - before
        #expect(used < 0.5, "CPU seconds used in 5 s at the fd limit: \(used)")
        // One line per episode; an episode ends when an accept succeeds (a descriptor freed for a
        // moment, by the failed report write for one), so a few may follow each other, never one
        // per failed attempt (thousands per second without the backoff).
        let episodes = proxy.log.components(separatedBy: "cannot accept connections").count - 1
        #expect((1...8).contains(episodes), "\(episodes) episodes logged")
        #expect(proxy.log.contains("retrying in 0.5s"), "the failed report writes say they are retried: \(proxy.log)")

        for fd in sockets { close(fd) }
        sockets = []
        // Accepting comes back; a payload sent now reaches the next report write.
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        var answered = false
        for _ in 0..<40 where !answered {
            answered = (try? await TestClient.request(address, .POST, payload.path, headers: payload.headers, body: payload.body).status) == 200
            if !answered { try await Task.sleep(for: .milliseconds(250)) }
        }
        #expect(answered)
        var written = 0
        for _ in 0..<80 where written != 1 {
            try await Task.sleep(for: .milliseconds(100))
            written = (try? ReportFile.read(from: reportPath)?.traffic.tracePayloadCount) ?? 0
        }
        #expect(written == 1, "the report is written again once descriptors are free")
        #expect(proxy.log.contains("again after"), "one line when accepting works again: \(proxy.log)")
        proxy.signal(SIGTERM)
        #expect(try await proxy.waitForExit() == 0)
    }

    /// Empty, truncated and foreign files at --report: moved aside, named in one line that
    /// mentions --fresh, and the proxy forwards and reports as if there had been none.
    @Test(arguments: ["", #"{"schema":"trace-compat/report/v1","traffic":{"requests_by"#, #"{"hello":"world"}"#])
    func aDamagedReportFileNeverStopsForwarding(content: String) async throws {
        let directory = try temporaryDirectory("damaged")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reportPath = directory.appendingPathComponent("report.json").path
        try content.write(toFile: reportPath, atomically: true, encoding: .utf8)
        let proxy = try ProxyProcess(arguments: ["--listen", "127.0.0.1:0", "--upstream", "none", "--report", reportPath, "--flush-interval", "3600"])
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: try await proxy.waitForListening())
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        #expect(try await TestClient.request(address, .POST, payload.path, headers: payload.headers, body: payload.body).status == 200)
        let aside = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("report.json.damaged-") }
        #expect(aside.count == 1)
        if let name = aside.first {
            #expect(try String(contentsOfFile: directory.appendingPathComponent(name).path, encoding: .utf8) == content, "kept as it was")
            let lines = proxy.log.split(separator: "\n").filter { $0.contains(name) }
            #expect(lines.count == 1 && lines[0].contains("--fresh"), "\(proxy.log)")
        }
        proxy.signal(SIGTERM)
        #expect(try await proxy.waitForExit() == 0)
        let report = try #require(try ReportFile.read(from: reportPath))
        #expect(report.traffic.tracePayloadCount == 1)
        var info = stat()
        #expect(stat(reportPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600, "report files are 0600")
    }

    /// The unix listening socket gets `socket_mode` (default 0722, as the agent's apm socket),
    /// not the umask's mode, so applications running as other users can connect.
    @Test(arguments: [ProxyLimits.socketMode, 0o700])
    func theUnixSocketGetsSocketMode(mode: Int) async throws {
        let directory = try temporaryDirectory("mode")
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("proxy.sock").path
        let harness = try await ProxyHarness.start { $0.listen = .unix(path: path); $0.socketMode = mode }
        var info = stat()
        #expect(stat(path, &info) == 0)
        #expect(Int(info.st_mode & 0o777) == mode)
        #expect(try await TestClient.request(try SocketAddress(unixDomainSocketPath: path), .GET, "/info").status == 200)
        await harness.stop()
    }

    /// A blocking TCP connection to 127.0.0.1:`port` (established by the kernel even when the
    /// proxy cannot accept it).
    static func connectBlocking(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        return fd
    }

    /// User + system CPU seconds of process `pid` (/proc/<pid>/stat fields 14 and 15).
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        let ticks = Double(fields[11])! + Double(fields[12])!
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}}

