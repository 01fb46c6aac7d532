import ArgumentParser
import Foundation
import TraceReplay

/// `trace-replay`: the load generator of the benchmark harness, and its agent stub. A benchmark
/// tool, not product: its own executable, built and tested with the package, not shipped inside
/// `trace-compat`.
///
///     trace-replay --serve --listen 127.0.0.1:18126 --record-sha
///     trace-replay ../shared/fixtures --target http://127.0.0.1:8126 --connections 8 --duration 10
///     trace-replay capture/ --traces-only --target unix:///tmp/proxy.sock --rate 500 --count 5000 --verify --json
@main
struct TraceReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace-replay",
        abstract: "Replay captured requests against an agent or a proxy and measure, or serve as an agent stub.",
        discussion: """
            Sends the captured requests under PATHS (fixture folders or files, read as \
            `trace-compat audit` reads them: each *.headers.json with its body, a bare *.msgpack \
            as the trace payload its name says; --traces-only keeps the trace payloads) \
            round-robin to --target over keep-alive \
            HTTP/1.1 connections, one request in flight per connection: as fast as the target \
            answers, or at --rate requests/s (latency then counts from each request's scheduled \
            time, so a slow target cannot hide its queueing). Stops after --count requests or \
            --duration seconds (default: each payload once). Prints requests/s, MB/s, spans/s, \
            latency percentiles (HdrHistogram) and errors; progress once a second on stderr. Exit \
            status 1 when a request went unanswered or got a non-2xx answer, or --verify found a \
            difference. Ctrl-C stops early and still prints the summary.

            With --serve, answers like the Datadog Agent at near zero cost instead (the answers \
            of trace-compat's sink mode: {"rate_by_service":{}} with Datadog-Agent-Version on \
            /v0.4+ traces, an /info document, 404 where the agent has no endpoint); \
            GET /stub/stats tells what it received (requests, bytes, and with --record-sha how \
            many bodies of each SHA-256), which --verify reads before and after a run.
            """
    )

    @Argument(help: "Captured requests: files, or folders holding them (searched recursively).")
    var paths: [String] = []

    @Flag(help: "Only the trace payloads (/v0.N/traces) among the captured requests.")
    var tracesOnly = false

    @Option(help: "Where to send: http://host:port or unix:///path/to.sock.")
    var target = "http://127.0.0.1:8126"

    @Option(help: "Requests per second over all connections (default: as fast as possible).")
    var rate: Double?

    @Option(help: "Connections, each with one request in flight.")
    var connections = 1

    @Option(help: "Seconds to run.")
    var duration: Double?

    @Option(help: "Requests to send (default without --duration: each payload once).")
    var count: Int?

    @Option(help: "Seconds before an unanswered request counts as a timeout.")
    var timeout: Double = 10

    @Flag(help: "Ask the stub upstream (trace-replay --serve --record-sha) what arrived, and check it byte for byte.")
    var verify = false

    @Flag(help: "Print the result as one JSON document on stdout.")
    var json = false

    @Flag(help: "No progress lines on stderr.")
    var quiet = false

    @Flag(help: "Serve as an agent stub instead of sending.")
    var serve = false

    @Option(help: "With --serve: where to listen (host:port or unix:///path).")
    var listen = "127.0.0.1:8126"

    @Flag(help: "With --serve: keep a SHA-256 of every body received (for --verify).")
    var recordSha = false

    @Option(help: "With --serve: event loop threads (default: one per core).")
    var threads: Int?

    func run() async throws {
        if serve { try await runStub() } else { try await runReplay() }
    }

    private func runReplay() async throws {
        guard !paths.isEmpty else { throw ValidationError("give the requests to replay: fixture folders or captured files") }
        let target = try ReplayTarget(self.target)
        let payloads = try ReplayPayload.load(paths, selecting: tracesOnly ? .traces : .all)
        let configuration = ReplayConfiguration(
            target: target, connections: connections, rate: rate,
            duration: duration.map { .milliseconds(Int64($0 * 1000)) }, count: count,
            timeout: .milliseconds(Int64(timeout * 1000)), verify: verify)
        if !quiet {
            let spans = payloads.reduce(0) { $0 + $1.spans }
            let bytes = payloads.reduce(0) { $0 + $1.body.readableBytes }
            FileHandle.standardError.write(Data("trace-replay: \(payloads.count) request(s), \(bytes) bytes, \(spans) spans → \(target)\n".utf8))
        }
        let quiet = self.quiet
        let run = Task {
            try await ReplayRunner.run(payloads, configuration: configuration) { progress in
                if !quiet { FileHandle.standardError.write(Data((progress.line + "\n").utf8)) }
            }
        }
        // SIGINT ends the run early: requests in flight are awaited, then the summary is printed.
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        interrupt.setEventHandler { run.cancel() }
        interrupt.resume()
        let result = try await run.value
        withExtendedLifetime(interrupt) { interrupt.cancel() }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardOutput.write(try encoder.encode(result) + Data("\n".utf8))
        } else {
            print(result.summary)
        }
        if !result.isClean { throw ExitCode(1) }
    }

    private func runStub() async throws {
        let address = try ReplayTarget(listen)
        let stub = try await AgentStub.start(listen: address, recordSHA: recordSha, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        FileHandle.standardError.write(Data("trace-replay --serve: agent stub listening on \(stub.address)\(recordSha ? " (recording SHA-256 of bodies)" : "")\n".utf8))
        // SIGINT/SIGTERM: close the listener, print what was received, exit 0.
        let signals = [SIGINT, SIGTERM].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { Task { await stub.close() } }
            source.resume()
            return source
        }
        // withExtendedLifetime: in a release build the optimizer may otherwise free the signal
        // sources (and with them the handlers) before the await returns.
        defer { withExtendedLifetime(signals) {} }
        try? await stub.closed.get()
        let stats = stub.stats
        FileHandle.standardError.write(Data("trace-replay --serve: received \(stats.requests) requests, \(stats.bytes) bytes\n".utf8))
    }
}
