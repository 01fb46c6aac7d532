import Foundation
import Testing

/// `report merge` over node URLs, with real processes: two `trace-compat proxy` processes in sink
/// mode each continue a report audited from real captures and serve it on
/// `/compat/report.json`; a third URL names a port nobody listens on.
@Suite(.serialized) struct ReportMergeURLTests {
    /// A TCP port on 127.0.0.1 that was free a moment ago (the OS picked it).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        precondition(bound)
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True once something accepts TCP connections on 127.0.0.1:`port`.
    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A sink-mode proxy continuing `report` (no `--fresh`), serving it live on `port`.
    final class Node {
        let process = Process()
        let port: Int

        init(report: String, dir: String) throws {
            port = try ReportMergeURLTests.freePort()
            process.executableURL = URL(fileURLWithPath: CLI.binary)
            process.arguments = ["proxy", "--listen", "127.0.0.1:\(port)", "--upstream", "none", "--report", report,
                                 "--flush-interval", "3600"]
            let log = dir + "/proxy-\(port).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardError = process.standardOutput
            try process.run()
            let deadline = Date().addingTimeInterval(20)
            while !ReportMergeURLTests.accepts(port) {
                guard process.isRunning, Date() < deadline else {
                    throw CLIError("proxy on \(port) did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
                }
                usleep(50_000)
            }
        }

        var url: String { "http://127.0.0.1:\(port)/compat/report.json" }

        func stop() {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
        }
    }

    struct CLIError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Two audited reports (different captures: the Django app in full mode and the manual-tags app)
    /// and the exact file merge of the two, which the URL merge must equal.
    static func fixtureReports(in dir: String) throws -> (a: String, b: String, merged: [String: Any]) {
        let a = dir + "/a.json", b = dir + "/b.json", ab = dir + "/ab.json"
        for (input, out) in [("django-full-v04", a), ("manual-v04", b)] {
            let r = try CLI.run(["audit", CLI.fixtures + "/" + input, "--json", out])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let m = try CLI.run(["report", "merge", a, b, "-o", ab])
        #expect(m.status == 0, "\(m.stderr)")
        return (a, b, try CLI.json(ab))
    }

    /// What two reports must agree on: findings (rule, service, key, kind, count) and traffic.
    static func projection(_ report: [String: Any]) -> [String] {
        let findings = (report["findings"] as? [[String: Any]] ?? []).map { f in
            ["rule", "service", "operation", "resource", "key", "kind", "count"].map { "\(f[$0] ?? "-")" }.joined(separator: "|")
        }.sorted()
        let traffic = report["traffic"] as? [String: Any] ?? [:]
        let data = try! JSONSerialization.data(withJSONObject: traffic, options: [.sortedKeys])
        return findings + [String(decoding: data, as: UTF8.self)]
    }

    @Test func mergeOverURLsEqualsTheFileMergeAndNamesTheUnreachableNode() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (a, b, expected) = try Self.fixtureReports(in: dir)
        let nodeA = try Node(report: a, dir: dir)
        defer { nodeA.stop() }
        let nodeB = try Node(report: b, dir: dir)
        defer { nodeB.stop() }
        let down = "http://127.0.0.1:\(try Self.freePort())/compat/report.json"

        let r = try CLI.run(["report", "merge", nodeA.url, down, nodeB.url, "-o", dir + "/fleet.json", "--timeout", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(r.stderr)")
        #expect(lines.first?.hasPrefix("report merge: \(down): unreachable: ") == true, "\(r.stderr)")
        let fleet = try CLI.json(dir + "/fleet.json")
        #expect(fleet["schema"] as? String == "trace-compat/report/v1")
        #expect(Self.projection(fleet) == Self.projection(expected))
        // Ground truth of the two captures (../shared/fixtures/<capture>/expected.json).
        let manual = try CLI.json(CLI.fixtures + "/manual-v04/expected.json")
        let django = try CLI.json(CLI.fixtures + "/django-full-v04/expected.json")
        let drops = django["django_minimal_drops"] as! [String: Int]
        var totals = [String: Int]()
        for f in fleet["findings"] as! [[String: Any]] { totals[f["rule"] as! String, default: 0] += f["count"] as! Int }
        #expect(totals["V4-TAG-REPR"] == (manual["nonstring_tag_repr"] as? [Any])?.count, "\(totals)")
        #expect(totals["V4-STRUCT-TAG"] == (manual["struct_tags"] as? [Any])?.count, "\(totals)")
        #expect(totals["V4-DJANGO-MINIMAL"] == drops.values.reduce(0, +), "\(totals)")
        let traffic = fleet["traffic"] as! [String: Any]
        #expect(traffic["spans"] as? Int == (manual["spans"] as! Int) + (django["spans"] as! Int))
        // Its sources: the two nodes merged, in order (not the unreachable one), each with its
        // proxy's provenance and the times of the report it continued.
        let sources = fleet["sources"] as? [[String: Any]] ?? []
        #expect(sources.map { $0["source"] as? String } == [nodeA.url, nodeB.url])
        for (source, (file, node)) in zip(sources, [(a, nodeA), (b, nodeB)]) {
            let served = try CLI.json(file)
            let audit = served["provenance"] as? [String: String] ?? [:]  // the audit ran on this machine, this build
            #expect(audit["command"] == "audit" && audit["host"]?.isEmpty == false)
            #expect(source["provenance"] as? [String: String] == [
                "command": "proxy", "host": audit["host"] ?? "?", "version": audit["version"] ?? "?", "listen": "127.0.0.1:\(node.port)"])
            #expect(source["first_seen"] as? String == served["started_at"] as? String)
            #expect(source["last_seen"] as? String == served["updated_at"] as? String)
        }
        #expect((fleet["provenance"] as? [String: String])?["command"] == "merge")

        // A file and a URL mix; the same merge with --strict fails on the unreachable node.
        let mixed = try CLI.run(["report", "merge", a, nodeB.url])
        #expect(mixed.status == 0, "\(mixed.stderr)")
        #expect(Self.projection(try JSONSerialization.jsonObject(with: Data(mixed.stdout.utf8)) as! [String: Any])
                == Self.projection(expected))
        let strict = try CLI.run(["report", "merge", nodeA.url, down, nodeB.url, "--strict", "--timeout", "3"])
        #expect(strict.status == 1)
        #expect(strict.stdout.isEmpty)
        #expect(strict.stderr.contains("report merge: \(down): unreachable: "), "\(strict.stderr)")
    }

    @Test func nodesThatAnswerNoReportHangOrUseHTTPSGetOneLineEach() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (a, _, _) = try Self.fixtureReports(in: dir)
        let node = try Node(report: a, dir: dir)
        defer { node.stop() }
        // The proxy's health route answers 200 with JSON that is not a report.
        let health = "http://127.0.0.1:\(node.port)/compat/health"
        let r = try CLI.run(["report", "merge", node.url, health])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("report merge: \(health): unreachable: not a trace-compat report"), "\(r.stderr)")
        let https = try CLI.run(["report", "merge", node.url, "https://127.0.0.1:1/compat/report.json"])
        #expect(https.status != 0)
        #expect(https.stderr.contains("https is not supported"), "\(https.stderr)")
        // A node that accepts the connection and never answers: named after --timeout, not waited on.
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(silent, $0, len) == 0 && getsockname(silent, $0, &len) == 0 }
        } && listen(silent, 4) == 0
        #expect(listening)
        let hung = "http://127.0.0.1:\(UInt16(bigEndian: addr.sin_port))/compat/report.json"
        let started = Date()
        // 3 s, not 1: the same timeout covers the live node, which a loaded 2-core CI machine
        // has been seen to answer in more than 1 s.
        let slow = try CLI.run(["report", "merge", node.url, hung, "--timeout", "3"])
        #expect(slow.status == 0, "\(slow.stderr)")
        #expect(slow.stderr == "report merge: \(hung): unreachable: no complete answer within 3.0 s\n")
        #expect(Date().timeIntervalSince(started) < 10)
        let none = try CLI.run(["report", "merge", "http://127.0.0.1:\(try Self.freePort())/r.json",
                                "http://127.0.0.1:\(try Self.freePort())/r.json", "--timeout", "2"])
        #expect(none.status == 1)
        #expect(none.stderr.hasSuffix("report merge: no report could be fetched\n"), "\(none.stderr)")
        #expect(none.stderr.components(separatedBy: ": unreachable: connection refused\n").count == 3, "\(none.stderr)")
    }
}
