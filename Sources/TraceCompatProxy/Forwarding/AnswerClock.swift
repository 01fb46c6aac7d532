import NIOCore

/// `upstream_timeout` for one exchange, without I/O. Before the agent's status line it runs from
/// the last request byte handed to the agent (then 504); once the answer streams, it measures
/// silence between answer parts (then the client connection is closed, see
/// `ExchangeStateMachine.timeout()`).
///
/// Exchanges only note times here. The connection keeps one scheduled task, not one per request:
/// when it fires, `check(at:)` says whether the exchange timed out or when to look again.
struct AnswerClock: Sendable, Equatable {
    let timeout: TimeAmount
    /// When the request's last byte was handed to the agent.
    private(set) var sentAt: NIODeadline?
    /// When the last part of the answer arrived: once set, the clock measures silence.
    private(set) var lastAnswerPart: NIODeadline?

    init(timeout: TimeAmount) { self.timeout = timeout }

    enum Check: Sendable, Equatable {
        /// Nothing is awaited (the request is not sent yet): no timer needed for this exchange.
        case notWaiting
        /// Not yet: look again after this long.
        case checkAgain(in: TimeAmount)
        /// `upstream_timeout` has passed without the answer (or without its next part).
        case timedOut
    }

    mutating func requestSent(at now: NIODeadline) { sentAt = now }

    /// The answer's status line arrived: how long the agent took (for the latency metric).
    mutating func answerStarted(at now: NIODeadline) -> TimeAmount? {
        lastAnswerPart = now
        return sentAt.map { now - $0 }
    }

    mutating func answerPartArrived(at now: NIODeadline) { lastAnswerPart = now }

    func check(at now: NIODeadline) -> Check {
        guard let sentAt else { return .notWaiting }
        let quiet = now - (lastAnswerPart ?? sentAt)
        return quiet < timeout ? .checkAgain(in: timeout - quiet) : .timedOut
    }
}
