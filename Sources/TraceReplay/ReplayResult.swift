import Histogram

/// Running totals of one connection (and, summed, of the whole run).
public struct ReplayCounters: Sendable, Equatable {
    /// Requests started: each ends as a response, a timeout or a connection error.
    public var requests = 0
    public var responses = 0
    public var ok = 0
    public var non2xx = 0
    public var timeouts = 0
    /// Requests lost to a failed connect, a reset or a close before the answer.
    public var connectionErrors = 0
    /// Request bodies sent (bytes), and response bodies received.
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Spans in the requests that got a 2xx answer.
    public var spansAnswered = 0
    /// How many times each payload (by its index in the payload list) was answered with a 2xx.
    public var answeredPerPayload: [Int] = []

    public init() {}

    public static func + (a: Self, b: Self) -> Self {
        var r = a
        r.requests += b.requests
        r.responses += b.responses
        r.ok += b.ok
        r.non2xx += b.non2xx
        r.timeouts += b.timeouts
        r.connectionErrors += b.connectionErrors
        r.bytesSent += b.bytesSent
        r.bytesReceived += b.bytesReceived
        r.spansAnswered += b.spansAnswered
        if r.answeredPerPayload.count < b.answeredPerPayload.count {
            r.answeredPerPayload += Array(repeating: 0, count: b.answeredPerPayload.count - r.answeredPerPayload.count)
        }
        for (i, n) in b.answeredPerPayload.enumerated() { r.answeredPerPayload[i] += n }
        return r
    }
}

/// What one replay measured; `--json` prints it as is.
public struct ReplayResult: Codable, Sendable, Equatable {
    public struct Latency: Codable, Sendable, Equatable {
        public var p50: Double
        public var p90: Double
        public var p99: Double
        public var p999: Double
        public var max: Double
        public var mean: Double
    }

    /// The stub's view, when `--verify` asked it (`trace-replay --serve --record-sha` upstream).
    public struct Verification: Codable, Sendable, Equatable {
        public var requestsReceived: Int
        public var bytesReceived: Int
        /// What arrived is what was answered with a 2xx: the same number of requests and bytes,
        /// and with `byteForByte` every payload as many times as it was sent, by SHA-256.
        public var bodiesMatch: Bool
        /// The stub recorded SHA-256s (`--record-sha`), so bodies were compared, not only counted.
        public var byteForByte: Bool
        public var mismatches: [String]
    }

    public var target: String
    public var connections: Int
    /// Requested rate (requests/s), nil for as fast as possible.
    public var rate: Double?
    public var elapsedSeconds: Double
    public var requests: Int
    public var responses: Int
    public var ok: Int
    public var non2xx: Int
    public var timeouts: Int
    public var connectionErrors: Int
    /// Requests that got no answer at all (timeouts + connection errors).
    public var unanswered: Int
    public var bytesSent: Int
    public var bytesReceived: Int
    public var spansAnswered: Int
    public var requestsPerSecond: Double
    public var megabytesPerSecond: Double
    public var spansPerSecond: Double
    /// Milliseconds, from the request's scheduled start (at a fixed rate, a late send counts
    /// against latency: no coordinated omission) to the end of the answer.
    public var latencyMs: Latency
    public var verification: Verification?

    /// True when every request got a 2xx and verification (if asked) found nothing wrong.
    public var isClean: Bool {
        unanswered == 0 && non2xx == 0 && responses == requests && (verification?.bodiesMatch ?? true)
    }

    init(target: ReplayTarget, connections: Int, rate: Double?, elapsed: Duration, counters c: ReplayCounters, histogram: Histogram<UInt64>) {
        self.target = target.description
        self.connections = connections
        self.rate = rate
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        elapsedSeconds = seconds
        requests = c.requests
        responses = c.responses
        ok = c.ok
        non2xx = c.non2xx
        timeouts = c.timeouts
        connectionErrors = c.connectionErrors
        unanswered = c.requests - c.responses
        bytesSent = c.bytesSent
        bytesReceived = c.bytesReceived
        spansAnswered = c.spansAnswered
        let s = max(seconds, 1e-9)
        requestsPerSecond = Double(c.responses) / s
        megabytesPerSecond = Double(c.bytesSent) / s / 1_000_000
        spansPerSecond = Double(c.spansAnswered) / s
        func ms(_ us: UInt64) -> Double { Double(us) / 1000 }
        let empty = histogram.totalCount == 0
        latencyMs = Latency(
            p50: empty ? 0 : ms(histogram.valueAtPercentile(50)),
            p90: empty ? 0 : ms(histogram.valueAtPercentile(90)),
            p99: empty ? 0 : ms(histogram.valueAtPercentile(99)),
            p999: empty ? 0 : ms(histogram.valueAtPercentile(99.9)),
            max: empty ? 0 : ms(histogram.max),
            mean: empty ? 0 : histogram.mean / 1000
        )
    }

    /// The human summary `replay` prints.
    public var summary: String {
        func f(_ v: Double, _ digits: Int = 1) -> String {
            let p = (0..<digits).reduce(1.0) { r, _ in r * 10 }
            let rounded = (v * p).rounded() / p
            return "\(rounded)"
        }
        let mode = rate.map { "at \(f($0)) requests/s" } ?? "as fast as possible"
        var lines = [
            "replay: \(requests) requests to \(target) over \(connections) connection(s) in \(f(elapsedSeconds, 2)) s (\(mode))",
            "  throughput: \(f(requestsPerSecond)) requests/s, \(f(megabytesPerSecond, 2)) MB/s, \(f(spansPerSecond, 0)) spans/s",
            "  latency (ms): p50 \(f(latencyMs.p50, 3))  p90 \(f(latencyMs.p90, 3))  p99 \(f(latencyMs.p99, 3))  p99.9 \(f(latencyMs.p999, 3))  max \(f(latencyMs.max, 3))",
            "  answers: \(responses) (2xx \(ok), non-2xx \(non2xx)); unanswered \(unanswered) (timeouts \(timeouts), connection errors \(connectionErrors))",
        ]
        if let v = verification {
            lines.append("  verification: the stub received \(v.requestsReceived) requests, \(v.bytesReceived) bytes; "
                + (!v.bodiesMatch ? "MISMATCH: " + v.mismatches.joined(separator: "; ")
                    : v.byteForByte ? "every body arrived unaltered (SHA-256)"
                    : "counts match (start the stub with --record-sha to compare bodies byte for byte)"))
        }
        return lines.joined(separator: "\n")
    }
}
