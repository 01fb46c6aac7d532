import Foundation
import NIOCore
import Testing
@testable import TraceReplay

/// `../shared/fixtures` beside the repository (or `$TRACE_COMPAT_SHARED/fixtures`).
let fixturesDirectory: String = {
    if let shared = ProcessInfo.processInfo.environment["TRACE_COMPAT_SHARED"] { return shared + "/fixtures" }
    return URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/fixtures").path
}()

/// Real loopback sockets: the load generator against the agent stub, nothing mocked.
@Suite struct ReplayAgainstStubTests {
    @Test func everyRequestIsAnsweredAndArrivesByteForByteOverTCP() async throws {
        let payloads = try ReplayPayload.load([fixturesDirectory])
        let stub = try await AgentStub.start(listen: .tcp(host: "127.0.0.1", port: 0), recordSHA: true, threads: 1)
        let before = try await StubStatsClient.fetch(stub.address)
        let result = try await ReplayRunner.run(payloads, configuration: ReplayConfiguration(target: stub.address, connections: 3, count: 120, verify: true))
        let after = try await StubStatsClient.fetch(stub.address)
        await stub.close()

        #expect(result.requests == 120)
        #expect(result.responses == 120)
        #expect(result.ok == 120)
        #expect(result.unanswered == 0 && result.connectionErrors == 0 && result.timeouts == 0)
        // Bytes: what the stub read equals what the replayer wrote.
        #expect(after.requests - before.requests == 120)
        #expect(after.bytes - before.bytes == result.bytesSent)
        let expectedBytes = (0..<120).reduce(0) { $0 + payloads[$1 % payloads.count].body.readableBytes }
        #expect(result.bytesSent == expectedBytes)
        // Spans: counted once per payload, summed per answered request.
        let expectedSpans = (0..<120).reduce(0) { $0 + payloads[$1 % payloads.count].spans }
        #expect(result.spansAnswered == expectedSpans)
        // Byte for byte: every payload's SHA-256 arrived as often as it was sent.
        let verification = try #require(result.verification)
        #expect(verification.bodiesMatch && verification.byteForByte, "\(verification.mismatches)")
        #expect(verification.requestsReceived == 120 && verification.bytesReceived == result.bytesSent)
        #expect(result.isClean)
        #expect(result.latencyMs.p50 > 0 && result.latencyMs.p50 <= result.latencyMs.p99 && result.latencyMs.p99 <= result.latencyMs.max)
    }

    @Test func worksOverAUnixSocketAtAFixedRate() async throws {
        let payloads = try ReplayPayload.load([fixturesDirectory + "/manual-v05"], selecting: .traces)
        let path = NSTemporaryDirectory() + "replay-test-\(getpid()).sock"
        let stub = try await AgentStub.start(listen: .unix(path: path), recordSHA: true, threads: 1)
        let result = try await ReplayRunner.run(payloads, configuration: ReplayConfiguration(
            target: .unix(path: path), connections: 2, rate: 2_000, count: 40))
        let stats = stub.stats
        await stub.close()
        #expect(result.ok == 40 && result.unanswered == 0)
        #expect(stats.requests == 40)
        #expect(stats.bytes == 40 * payloads[0].body.readableBytes)
        #expect(stats.bodies == [payloads[0].sha256: 40])
        #expect(stats.paths == ["/v0.5/traces": 40])
    }

    @Test func aDeadTargetEndsTheRunWithConnectionErrors() async throws {
        // Bind then close a listener: its port now refuses connections.
        let stub = try await AgentStub.start(listen: .tcp(host: "127.0.0.1", port: 0), threads: 1)
        let address = stub.address
        await stub.close()
        let payloads = try ReplayPayload.load([fixturesDirectory + "/manual-v04"])
        let result = try await ReplayRunner.run(payloads, configuration: ReplayConfiguration(target: address, connections: 2, count: 4))
        #expect(result.requests == 4)
        #expect(result.responses == 0)
        #expect(result.connectionErrors == 4)
        #expect(!result.isClean)
    }

    @Test func theStubAnswersLikeTheAgent() async throws {
        let stub = try await AgentStub.start(listen: .tcp(host: "127.0.0.1", port: 0), threads: 1)
        defer { Task { await stub.close() } }
        let info = ReplayPayload(name: "info", method: "GET", path: "/info", headers: [], body: [])
        let telemetry = ReplayPayload(name: "t", method: "POST", path: "/telemetry/proxy/api/v2/apmtelemetry", headers: [], body: Array("{}".utf8))
        let result = try await ReplayRunner.run([info, telemetry], configuration: ReplayConfiguration(target: stub.address, count: 2))
        #expect(result.ok == 2)
        // Answer bodies: the imitation's /info document and "{}".
        #expect(result.bytesReceived == stub.state.imitation.infoDocument.utf8.count + 2)
        #expect(stub.stats.paths == ["/info": 1, "/telemetry/proxy/api/v2/apmtelemetry": 1])
        #expect(stub.stats.bodies == nil)
    }
}
