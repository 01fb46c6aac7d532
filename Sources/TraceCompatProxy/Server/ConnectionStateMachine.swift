import NIOCore

/// The client-side timers of one client connection, without I/O: which of `header_timeout`,
/// `body_timeout` and `idle_timeout` applies now, and what to do when it runs out.
///
/// nginx's model (`client_header_timeout`, `client_body_timeout`, `keepalive_timeout`): a
/// request head must be complete within `header` of its first byte (or of accept, for a
/// connection that sends nothing), else 408 and close (RFC 9110 §15.5.9); a body may fall silent
/// for at most `body` between two reads, else the connection closes (the request is incomplete
/// upstream, so no answer can be given; counted `body_timeout`); between requests a keep-alive
/// connection may idle for `idle`, then it is closed without an answer (RFC 9112 §9.3: "A client,
/// server, or proxy MAY close the transport connection at any time"). While the agent's answer
/// is awaited no client timer runs (`upstream_timeout` covers that).
///
/// The handler keeps ONE scheduled task per connection: it arms it at `firstCheck`, and when it
/// fires asks `timerFired(at:)`, which either acts or names the next time to look (never more
/// than the shortest timeout ahead). Phase changes per request only store a time, so the common
/// path schedules nothing: a busy connection's timer fires once per shortest timeout.
public struct ConnectionStateMachine: Sendable {
    public struct Timeouts: Sendable, Equatable {
        public var header: TimeAmount
        public var body: TimeAmount
        public var idle: TimeAmount

        public init(header: TimeAmount, body: TimeAmount, idle: TimeAmount) {
            self.header = header
            self.body = body
            self.idle = idle
        }

        /// The shortest: the timer never sleeps past any phase's deadline.
        var shortest: TimeAmount { min(header, body, idle) }
    }

    enum Phase: Sendable, Equatable {
        /// Between requests; `fresh` for a new connection that has sent nothing yet.
        case idle(fresh: Bool)
        /// Bytes of a request head arrived, the head is not complete.
        case head
        /// The head is in, the body is being received.
        case body
        /// The request is read; the answer is awaited or written (no client timer).
        case answering
        /// The connection is being closed: nothing more to time.
        case closed
    }

    public enum Action: Sendable, Equatable {
        /// Nothing to do now; look again at this deadline.
        case checkAgain(at: NIODeadline)
        /// The head was not complete in time: answer 408 and close (counted `header_timeout`).
        case respondRequestTimeout
        /// The body fell silent: fail the exchange (counted `body_timeout`) and close.
        case failBody
        /// The keep-alive connection idled out: close without an answer.
        case closeIdle
        /// The connection is closing: stop timing.
        case stop
    }

    public let timeouts: Timeouts
    private(set) var phase: Phase = .idle(fresh: true)
    /// When the current phase's clock started (first head byte, last body byte, end of answer).
    private(set) var since: NIODeadline
    /// Bytes arrived while answering: the next request has begun (pipelining).
    private var bytesWhileAnswering = false

    public init(timeouts: Timeouts, now: NIODeadline) {
        self.timeouts = timeouts
        self.since = now
    }

    /// When the handler should first look (at accept).
    public var firstCheck: NIODeadline { since + timeouts.shortest }

    /// Raw bytes arrived from the client (before HTTP decoding).
    public mutating func bytesReceived(at now: NIODeadline) {
        switch phase {
        case .idle:
            phase = .head
            since = now
        case .body:
            since = now
        case .answering:
            bytesWhileAnswering = true
        case .head, .closed:
            break
        }
    }

    /// A request head was decoded: from now on the body's silence is timed.
    public mutating func requestHeadReceived(at now: NIODeadline) {
        guard phase != .closed else { return }
        phase = .body
        since = now
    }

    /// The request is read in full.
    public mutating func requestEnded() {
        guard phase != .closed else { return }
        phase = .answering
        bytesWhileAnswering = false
    }

    /// The exchange is over (answered, or answered by the proxy): the connection idles, or the
    /// next pipelined request's head is already under way.
    public mutating func exchangeEnded(at now: NIODeadline) {
        guard phase != .closed else { return }
        phase = bytesWhileAnswering ? .head : .idle(fresh: false)
        bytesWhileAnswering = false
        since = now
    }

    /// The connection is closing.
    public mutating func closing() { phase = .closed }

    /// The timer fired at `now`.
    public mutating func timerFired(at now: NIODeadline) -> Action {
        let deadline: NIODeadline
        switch phase {
        case .closed:
            return .stop
        case .answering:
            return .checkAgain(at: now + timeouts.shortest)
        case .idle(let fresh):
            deadline = since + (fresh ? timeouts.header : timeouts.idle)
        case .head:
            deadline = since + timeouts.header
        case .body:
            deadline = since + timeouts.body
        }
        // Never sleep longer than the shortest timeout: a phase that begins meanwhile (say a body,
        // timed on 60 s, during an idle wait timed on 75 s) is then looked at before its deadline.
        guard now >= deadline else { return .checkAgain(at: min(deadline, now + timeouts.shortest)) }
        switch phase {
        case .idle(fresh: true), .head:
            phase = .closed
            return .respondRequestTimeout
        case .idle(fresh: false):
            phase = .closed
            return .closeIdle
        default:
            phase = .closed
            return .failBody
        }
    }
}
