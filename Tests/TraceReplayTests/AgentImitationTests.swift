import AgentImitation
import Foundation
import Testing
@testable import TraceReplay

/// The one imitation of the agent's receiver (sink mode and the stub), checked against what
/// DataDog/datadog-agent `pkg/trace/api` answers, and the stub over a real socket.
@Suite struct AgentImitationTests {
    let agent = AgentImitation()

    @Test func traceEndpointsAnswerRatesFromV04AndOKBefore() {
        for path in ["/v0.4/traces", "/v0.5/traces", "/v0.7/traces", "/v0.4/traces?x=1"] {
            let a = agent.answer(method: "PUT", path: path)
            #expect(a.status == 200 && a.body == Array("{\"rate_by_service\":{}}\n".utf8), "\(path)")
            #expect(a.contentType == "application/json")
        }
        #expect(agent.answer(method: "PUT", path: "/v0.3/traces").body == Array("OK\n".utf8))
    }

    @Test func everyEndpointButInfoCarriesTheVersionAndState() throws {
        for path in AgentImitation.endpoints {
            let a = agent.answer(method: "POST", path: path)
            #expect(a.status == 200, "\(path)")
            #expect(a.headers.first { $0.name == "Datadog-Agent-Version" }?.value == AgentImitation.defaultVersion, "\(path)")
            #expect(a.headers.first { $0.name == "Datadog-Agent-State" }?.value == SHA256.hex(Array(agent.infoDocument.utf8)), "\(path)")
        }
        let info = agent.answer(method: "GET", path: "/info")
        #expect(!info.headers.contains { $0.name.hasPrefix("Datadog-Agent") })
        let document = try #require(try JSONSerialization.jsonObject(with: Data(info.body)) as? [String: Any])
        #expect(document["version"] as? String == AgentImitation.defaultVersion)
        #expect(document["endpoints"] as? [String] == AgentImitation.endpoints)
        #expect((document["config"] as? [String: Any])?["max_request_bytes"] as? Int == 25 * 1024 * 1024)
    }

    @Test func statsAreEmptyProxiedEndpointsEmptyObjectsUnknownPaths404() {
        #expect(agent.answer(method: "PUT", path: "/v0.6/stats").body.isEmpty)
        #expect(agent.answer(method: "POST", path: "/telemetry/proxy/api/v2/apmtelemetry").body == Array("{}".utf8))
        #expect(agent.answer(method: "POST", path: "/evp_proxy/v2/api/v2/llmobs").body == Array("{}".utf8))
        let unknown = agent.answer(method: "GET", path: "/v1.0/traces")
        #expect(unknown.status == 404 && unknown.body == Array("404 page not found\n".utf8))
        #expect(agent.answer(method: "GET", path: "/telemetry").status == 404)
    }

    /// The stub writes the imitation's answer (status, headers, body) on the wire.
    @Test func theStubSendsTheImitationsHeaders() async throws {
        let stub = try await AgentStub.start(listen: .tcp(host: "127.0.0.1", port: 0), threads: 1)
        guard case .tcp(_, let port) = stub.address else { throw ReplayError.badOptions("not tcp") }
        let traces = try RawHTTP.exchange(port: port, "PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n\u{90}")
        let missing = try RawHTTP.exchange(port: port, "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await stub.close()
        #expect(traces.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(traces.lowercased().contains("datadog-agent-version: \(AgentImitation.defaultVersion)\r\n"))
        #expect(traces.hasSuffix("\r\n\r\n{\"rate_by_service\":{}}\n"))
        #expect(missing.hasPrefix("HTTP/1.1 404 Not Found\r\n") && missing.hasSuffix("404 page not found\n"))
    }
}
