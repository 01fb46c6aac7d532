import Foundation
import NIOHTTP1
import Testing
import TraceCompatProxy

/// `--no-analysis` (config `analysis: false`): forwarding unchanged, nothing teed to analysis.
@Suite struct NoAnalysisTests {
    @Test func analysisOffForwardsEveryByteAndAnalysesNothing() async throws {
        #expect(ProxyConfiguration().analysis, "analysis is on by default")
        let harness = try await ProxyHarness.start { $0.analysis = false }
        let requests = try Fixtures.requests("manual-v04")
        for request in requests {
            let answer = try await TestClient.request(harness.address, HTTPMethod(rawValue: request.method), request.path,
                                                      headers: request.headers, body: request.body)
            #expect(answer.status == 200)
        }
        let received = harness.upstream!.requests
        #expect(received.map(\.body) == requests.map(\.body), "every body reaches the agent byte for byte")
        let report = harness.report()
        #expect(report.traffic.tracePayloadCount == 0)
        #expect(report.findingCountsByRule.isEmpty, "the same fixture gives V4-TAG-REPR findings with analysis on")
        await harness.stop()
    }

    @Test func theFlagAndTheConfigKeyTurnAnalysisOff() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tc-noanalysis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let yaml = directory.appendingPathComponent("c.yaml")
        try "analysis: false\n".write(to: yaml, atomically: true, encoding: .utf8)
        for arguments in [["--no-analysis"], ["--config", yaml.path], []] {
            let proxy = try ProxyProcess(arguments: arguments + ["--listen", "127.0.0.1:0", "--upstream", "none",
                                                                 "--report", directory.appendingPathComponent("r.json").path])
            _ = try await proxy.waitForListening()
            // SINK MODE is the last start line (after ANALYSIS OFF): once it is in, the start
            // lines are complete and the absence of ANALYSIS OFF means something.
            #expect(try await proxy.waitForLog(containing: "SINK MODE"), "\(proxy.log)")
            proxy.signal(SIGTERM)
            #expect(try await proxy.waitForExit() == 0)
            #expect(proxy.log.contains("ANALYSIS OFF") == !arguments.isEmpty, "\(arguments): \(proxy.log)")
        }
    }
}
