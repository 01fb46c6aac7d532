/// How `replay` sends: where, over how many connections, how fast, and for how long.
public struct ReplayConfiguration: Sendable {
    public var target: ReplayTarget
    /// Keep-alive HTTP/1.1 connections, each with one request in flight at a time.
    public var connections: Int
    /// Requests per second over all connections; nil sends as fast as the target answers.
    public var rate: Double?
    /// Stop starting requests after this long.
    public var duration: Duration?
    /// Stop after this many requests. With neither `duration` nor `count`, every payload is sent once.
    public var count: Int?
    /// A request unanswered after this long is counted as a timeout and its connection reopened.
    public var timeout: Duration
    /// Read the upstream stub's `GET /stub/stats` before and after, and check that what arrived is
    /// what was sent (byte for byte when the stub records SHA-256s).
    public var verify: Bool

    public init(target: ReplayTarget, connections: Int = 1, rate: Double? = nil, duration: Duration? = nil, count: Int? = nil,
                timeout: Duration = .seconds(10), verify: Bool = false) {
        self.target = target
        self.connections = connections
        self.rate = rate
        self.duration = duration
        self.count = count
        self.timeout = timeout
        self.verify = verify
    }

    func validated() throws(ReplayError) -> Self {
        guard connections >= 1 else { throw .badOptions("--connections must be at least 1") }
        if let rate { guard rate > 0, rate.isFinite else { throw .badOptions("--rate must be a positive number of requests per second") } }
        if let count { guard count >= 0 else { throw .badOptions("--count must not be negative") } }
        if let duration { guard duration > .zero else { throw .badOptions("--duration must be positive") } }
        guard timeout > .zero else { throw .badOptions("--timeout must be positive") }
        return self
    }
}
