import Histogram
import NIOCore
import NIOPosix

/// A snapshot of a run in progress, for the once-a-second progress line.
public struct ReplayProgress: Sendable {
    public var elapsedSeconds: Double
    public var counters: ReplayCounters

    /// `[  3s] 12034 requests (4011/s), 12.1 MB/s, 0 errors`
    public var line: String {
        let s = max(elapsedSeconds, 1e-9)
        let errors = counters.non2xx + counters.timeouts + counters.connectionErrors
        let rate = Int((Double(counters.responses) / s).rounded())
        let mbps = (Double(counters.bytesSent) / s / 1e5).rounded() / 10
        return "[\(Int(elapsedSeconds.rounded()))s] \(counters.responses) answered (\(rate)/s), \(mbps) MB/s, \(errors) errors"
    }
}

/// The load generator: replays payloads over keep-alive HTTP/1.1 connections and measures.
public enum ReplayRunner {
    /// Sends `payloads` round-robin as `configuration` says and returns what was measured.
    /// `progress` is called about once a second while the run lasts. Cancelling the calling task
    /// stops starting new requests; those in flight are still awaited (up to the timeout).
    public static func run(
        _ payloads: [ReplayPayload],
        configuration: ReplayConfiguration,
        progress: (@Sendable (ReplayProgress) -> Void)? = nil
    ) async throws -> ReplayResult {
        let configuration = try configuration.validated()
        guard !payloads.isEmpty else { throw ReplayError.noPayloads([]) }
        let requests = payloads.map { PreparedRequest($0, target: configuration.target) }
        let before = configuration.verify ? try await StubStatsClient.fetch(configuration.target) : nil
        let threads = min(configuration.connections, System.coreCount)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let schedule = ReplaySchedule(configuration: configuration, payloadCount: payloads.count)
        let started = ContinuousClock.now
        let connections = (0..<configuration.connections).map { _ in
            ReplayConnection(eventLoop: group.next(), schedule: schedule, requests: requests, target: configuration.target,
                             timeout: TimeAmount(configuration.timeout))
        }
        for c in connections { c.start() }

        let reporter = Task {
            guard let progress else { return }
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                if Task.isCancelled { return }
                progress(ReplayProgress(elapsedSeconds: seconds(ContinuousClock.now - started), counters: totals(connections).0))
            }
        }
        await withTaskCancellationHandler {
            for c in connections { try? await c.done.futureResult.get() }
        } onCancel: {
            schedule.stop()
        }
        let elapsed = ContinuousClock.now - started
        reporter.cancel()
        let (counters, histogram) = totals(connections)
        try? await group.shutdownGracefully()
        var result = ReplayResult(target: configuration.target, connections: configuration.connections, rate: configuration.rate,
                                  elapsed: elapsed, counters: counters, histogram: histogram)
        if let before {
            let after = try await StubStatsClient.fetch(configuration.target)
            result.verification = ReplayResult.Verification(before: before, after: after, payloads: payloads, counters: counters)
        }
        return result
    }

    static func totals(_ connections: [ReplayConnection]) -> (ReplayCounters, Histogram<UInt64>) {
        var counters = ReplayCounters()
        var histogram = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
        for c in connections {
            c.stats.withLock {
                counters = counters + $0.counters
                histogram.add($0.latency)
            }
        }
        return (counters, histogram)
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
