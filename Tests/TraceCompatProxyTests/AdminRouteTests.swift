import CompatReport
import Foundation
import NIOCore
import NIOHTTP1
import Testing
import TraceCompatProxy

@Suite struct AdminRouteTests {
    @Test func reportHealthAndMetricsOnTheMainListener() async throws {
        let harness = try await ProxyHarness.start()
        for request in try Fixtures.requests("manual-v04") {
            _ = try await TestClient.request(harness.address, HTTPMethod(rawValue: request.method), request.path, headers: request.headers, body: request.body)
        }
        harness.proxy.waitForAnalysis()
        let upstreamCount = harness.upstream!.requests.count

        let json = try await TestClient.request(harness.address, .GET, "/compat/report")
        #expect(json.status == 200)
        let report = try ReportRenderer.decode(json: json.body)
        #expect(report.traffic.tracePayloadCount == 1)
        #expect(!report.findingCountsByRule.isEmpty)
        #expect(try await TestClient.request(harness.address, .GET, "/compat/report.json").body == json.body)

        let markdown = try await TestClient.request(harness.address, .GET, "/compat/report.md")
        #expect(markdown.header("content-type")?.hasPrefix("text/markdown") == true)
        #expect(markdown.text.contains("V4-TAG-REPR"))
        let html = try await TestClient.request(harness.address, .GET, "/compat/report.html")
        #expect(html.header("content-type")?.hasPrefix("text/html") == true)
        #expect(html.text.lowercased().contains("<html") || html.text.lowercased().contains("<!doctype"))

        let health = try await TestClient.request(harness.address, .GET, "/compat/health")
        #expect(health.text.contains(#""status":"ok""#))
        // Whether analysis is busy (the harness polls this instead of sleeping): settled here.
        let healthJSON = try #require(try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any])
        let analysis = try #require(healthJSON["analysis"] as? [String: Any])
        #expect(analysis["queued"] as? Int == 0 && analysis["in_flight"] as? Int == 0 && analysis["idle"] as? Bool == true)
        #expect(healthJSON["analysis_queue_depth"] as? Int == 0)

        let metrics = try await TestClient.request(harness.address, .GET, "/metrics").text
        for name in ["trace_compat_requests_total{endpoint=\"/v0.4/traces\",status=\"200\"} 1", "trace_compat_request_bytes_total",
                     "trace_compat_response_bytes_total", "trace_compat_upstream_latency_seconds_bucket", "trace_compat_analysis_queue_depth",
                     "trace_compat_decode_errors", "trace_compat_findings_total{rule=\"V4-TAG-REPR\",severity=\"check\","] {
            #expect(metrics.contains(name), "\(name) missing from /metrics")
        }
        #expect(try await TestClient.request(harness.address, .GET, "/compat/nope").status == 404)
        // None of it reached the agent.
        #expect(harness.upstream!.requests.count == upstreamCount)
        await harness.stop()
    }

    @Test func adminListenMovesTheRoutesAndTheMainListenerForwardsThem() async throws {
        let harness = try await ProxyHarness.start { $0.adminListen = .tcp(host: "127.0.0.1", port: 0) }
        let admin = try #require(harness.proxy.adminAddress)
        #expect(try await TestClient.request(admin, .GET, "/compat/health").text.contains(#""status":"ok""#))
        #expect(try await TestClient.request(admin, .GET, "/metrics").text.contains("# TYPE"))
        #expect(try await TestClient.request(admin, .GET, "/v0.4/traces").status == 404)

        let forwarded = try await TestClient.request(harness.address, .GET, "/metrics")
        #expect(forwarded.header("x-upstream") == "recording")
        #expect(harness.upstream!.requests.map(\.uri) == ["/metrics"])
        await harness.stop()
    }

    @Test func sinkModeAnswersWithoutAnAgentAndStillAnalyses() async throws {
        let harness = try await ProxyHarness.start(upstream: nil)
        let payload = try Fixtures.requests("manual-v05").first { $0.path == "/v0.5/traces" }!
        let traces = try await TestClient.request(harness.address, .POST, "/v0.5/traces", headers: payload.headers, body: payload.body)
        #expect(traces.text == #"{"rate_by_service":{}}"# + "\n")
        let info = try await TestClient.request(harness.address, .GET, "/info")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(info.body)) as? [String: Any])
        #expect(document["version"] as? String == SinkResponder.agentVersion)
        #expect((document["endpoints"] as? [String])?.contains("/v0.4/traces") == true)
        #expect(try await TestClient.request(harness.address, .POST, "/profiling/v1/input", body: [1]).text == "{}")
        let report = harness.report()
        #expect(report.traffic.tracePayloadCount == 1)
        #expect(!report.findingCountsByRule.isEmpty)
        #expect(report.traffic.agentVersions.isEmpty, "the sink's own /info is not the agent's")
        await harness.stop()
    }

    @Test func anExistingReportIsContinuedUnlessFresh() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tc-continue-\(UUID().uuidString.prefix(8)).json").path
        defer { for ext in ["", ".md", ".html"] { try? FileManager.default.removeItem(atPath: path.replacingOccurrences(of: ".json", with: "") + (ext.isEmpty ? ".json" : ext)) } }
        let first = ReportStore()
        first.countRequest(endpoint: "/v0.4/traces")
        first.countRequest(endpoint: "/v0.4/traces")
        try ReportFile.write(first.snapshot(), to: path)

        var configuration = ProxyConfiguration(reportPath: path)
        let continued = ProxyService.openStore(configuration, logger: .init(label: "test"))
        continued.countRequest(endpoint: "/v0.4/traces")
        #expect(continued.snapshot().traffic.requestsByEndpoint["/v0.4/traces"] == 3)

        configuration.fresh = true
        let fresh = ProxyService.openStore(configuration, logger: .init(label: "test"))
        #expect(fresh.snapshot().traffic.requestCount == 0)
    }
}
