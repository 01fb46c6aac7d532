import NIOCore
import Synchronization

/// Hands out the run's requests to the connections, in order, and says when each is due.
///
/// At a fixed rate request `i` is due at `start + i / rate` whichever connection takes it: a
/// connection that falls behind sends at once, and the latency still counts from the due time, so
/// a slow target cannot hide its queueing (no coordinated omission).
final class ReplaySchedule: Sendable {
    struct Ticket: Sendable {
        var index: Int
        /// When the request is due; nil when sending as fast as possible.
        var due: NIODeadline?
    }

    private let next = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    let start: NIODeadline
    let count: Int?
    let deadline: NIODeadline?
    let intervalNanoseconds: Double?

    init(configuration: ReplayConfiguration, payloadCount: Int, start: NIODeadline = .now()) {
        self.start = start
        count = configuration.count ?? (configuration.duration == nil ? payloadCount : nil)
        deadline = configuration.duration.map { start + TimeAmount($0) }
        intervalNanoseconds = configuration.rate.map { 1e9 / $0 }
    }

    /// The next request, or nil when the run is over (count reached, duration passed, stopped).
    func claim() -> Ticket? {
        if stopped.load(ordering: .relaxed) { return nil }
        let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
        if let count, i >= count { return nil }
        let due = intervalNanoseconds.map { start + .nanoseconds(Int64(Double(i) * $0)) }
        if let deadline, (due ?? .now()) >= deadline { return nil }
        return Ticket(index: i, due: due)
    }

    /// Ends the run early (SIGINT): connections finish their request in flight and close.
    func stop() { stopped.store(true, ordering: .relaxed) }
}
