import CompatReport
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The `trace-compat proxy` executable: signals, persistence and configuration precedence.
@Suite(.serialized) struct ProcessTests {
    @Test func killDashNineDuringTrafficLeavesTheLastFlushedReportValid() async throws {
        let directory = try temporaryDirectory("kill9")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reportPath = directory.appendingPathComponent("report.json").path
        let proxy = try ProxyProcess(arguments: ["--listen", "127.0.0.1:0", "--upstream", "none", "--report", reportPath,
                                                 "--flush-interval", "0.05", "--fresh"])
        let port = try await proxy.waitForListening()
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        let payloads = try Fixtures.requests("django-full-v04").filter { $0.method == "POST" }
        let client = try await TestClient.connect(address)
        var sent = 0
        // Traffic until a flush with traffic in it has landed (the file alone exists from the
        // start: --fresh), then SIGKILL in the middle of more. Not a fixed count: analysis hands
        // over at an interval, and a fast forwarding path sends 60 payloads before the first one.
        while sent < 2000 {
            let payload = payloads[sent % payloads.count]
            _ = try await client.send(.POST, payload.path, headers: payload.headers, body: payload.body)
            sent += 1
            if sent >= 60, let flushed = try? ReportFile.read(from: reportPath), flushed.traffic.requestCount > 0 { break }
        }
        async let more: Void = {
            for index in 0..<50 { _ = try? await client.send(.POST, payloads[index % payloads.count].path, body: payloads[index % payloads.count].body) }
        }()
        try await Task.sleep(for: .milliseconds(30))
        proxy.signal(SIGKILL)
        _ = await more
        #expect(try await proxy.waitForExit() == SIGKILL)

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: reportPath)))
        #expect(throws: Never.self) { try JSONSerialization.jsonObject(with: Data(bytes)) }
        let report = try ReportRenderer.decode(json: bytes)
        #expect(report.schema == Report.currentSchema)
        #expect(report.traffic.requestCount > 0)
        #expect(report.traffic.requestCount <= sent + 50)
        await client.close()
    }

    @Test func sigtermDrainsAndWritesTheReportOneLastTime() async throws {
        let directory = try temporaryDirectory("sigterm")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reportPath = directory.appendingPathComponent("report.json").path
        let proxy = try ProxyProcess(arguments: ["--listen", "127.0.0.1:0", "--upstream", "none", "--report", reportPath,
                                                 "--flush-interval", "3600"])
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: try await proxy.waitForListening())
        let payload = try Fixtures.requests("manual-v04").first { $0.path == "/v0.4/traces" }!
        #expect(try await TestClient.request(address, .POST, payload.path, headers: payload.headers, body: payload.body).status == 200)
        // An idle keep-alive connection must not hold the shutdown up.
        let idle = try await RawConnection.connect(address)
        #expect(!FileManager.default.fileExists(atPath: reportPath), "no periodic flush within an hour")
        proxy.signal(SIGTERM)
        #expect(try await proxy.waitForExit() == 0)
        let report = try #require(try ReportFile.read(from: reportPath))
        #expect(report.traffic.tracePayloadCount == 1)
        #expect(!report.findingCountsByRule.isEmpty)
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("report.md").path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("report.html").path))
        await idle.close()

        // A restart continues the same report.
        let again = try ProxyProcess(arguments: ["--listen", "127.0.0.1:0", "--upstream", "none", "--report", reportPath, "--flush-interval", "3600"])
        let second = try SocketAddress(ipAddress: "127.0.0.1", port: try await again.waitForListening())
        _ = try await TestClient.request(second, .POST, payload.path, headers: payload.headers, body: payload.body)
        again.signal(SIGINT)
        #expect(try await again.waitForExit() == 0)
        #expect(try ReportFile.read(from: reportPath)?.traffic.tracePayloadCount == 2)
    }

    @Test func flagBeatsEnvironmentBeatsConfigFileBeatsDefault() async throws {
        let directory = try temporaryDirectory("config")
        defer { try? FileManager.default.removeItem(at: directory) }
        let yaml = directory.appendingPathComponent("trace-compat.yaml")
        try """
            listen: "127.0.0.1:1"
            upstream: none
            report: "\(directory.path)/from-file.json"
            flush_interval: 7
            """.write(to: yaml, atomically: true, encoding: .utf8)
        let proxy = try ProxyProcess(arguments: ["--config", yaml.path, "--listen", "127.0.0.1:0"],
                                     environment: ["TRACE_COMPAT_REPORT": "\(directory.path)/from-env.json"])
        let port = try await proxy.waitForListening()
        #expect(port != 1, "the flag wins over the file")
        #expect(proxy.log.contains("report at \(directory.path)/from-env.json"), "the environment wins over the file: \(proxy.log)")
        #expect(proxy.log.contains("forwarding to nowhere"), "the file wins over the default")
        #expect(proxy.log.contains("every 7.0s"))
        #expect(try await proxy.waitForLog(containing: "SINK MODE"), "\(proxy.log)")
        proxy.signal(SIGTERM)
        #expect(try await proxy.waitForExit() == 0)
    }

    @Test func theDocumentedConfigFileIsValid() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Config/trace-compat.yaml").path
        #expect(FileManager.default.fileExists(atPath: path))
        let directory = try temporaryDirectory("yaml")
        defer { try? FileManager.default.removeItem(at: directory) }
        let proxy = try ProxyProcess(arguments: ["--config", path, "--listen", "127.0.0.1:0", "--upstream", "none",
                                                 "--report", directory.appendingPathComponent("r.json").path])
        _ = try await proxy.waitForListening()
        proxy.signal(SIGTERM)
        #expect(try await proxy.waitForExit() == 0)
    }

    @Test func bindingBeyondLoopbackWarnsAndRedactReachesTheReport() async throws {
        let directory = try temporaryDirectory("warn")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reportPath = directory.appendingPathComponent("r.json").path
        let proxy = try ProxyProcess(arguments: ["--listen", "0.0.0.0:0", "--upstream", "none", "--report", reportPath, "--redact"])
        #expect(try await proxy.waitForLog(containing: "not a loopback address"), "\(proxy.log)")
        proxy.signal(SIGTERM)
        #expect(try await proxy.waitForExit() == 0)
        #expect(try ReportFile.read(from: reportPath)?.options.redacted == true)
    }

    @Test func invalidConfigurationIsRefusedWithTheKeyNamed() async throws {
        let proxy = try ProxyProcess(arguments: ["--upstream", "https://agent:8126", "--listen", "127.0.0.1:0"])
        #expect(try await proxy.waitForExit() != 0)
        #expect(proxy.log.contains("upstream"))

        // A value of the wrong type is an error naming the key, never a silent default.
        let typo = try ProxyProcess(arguments: ["--listen", "127.0.0.1:0", "--upstream", "none"],
                                    environment: ["TRACE_COMPAT_FLUSH_INTERVAL": "ten"])
        #expect(try await typo.waitForExit() != 0)
        #expect(typo.log.contains("flush_interval"), "\(typo.log)")

        // The report's bounds: a zero bound is refused, naming the keys.
        let unbounded = try ProxyProcess(arguments: ["--listen", "127.0.0.1:0", "--upstream", "none", "--max-apps", "0"])
        #expect(try await unbounded.waitForExit() != 0)
        #expect(unbounded.log.contains("max_apps"), "\(unbounded.log)")
    }
}
