import NIOCore

/// The decisions of one client connection, without I/O: its timers (which of `header_timeout`,
/// `body_timeout` and `idle_timeout` applies now, and what to do when it runs out), HTTP/1.1
/// pipelining (whether a request part is handled now or held behind an unanswered request), read
/// pausing (reads stop while much is held or the agent's connection cannot take more), and
/// graceful shutdown (close now, after the answer, or after the held requests). The handler
/// feeds it events and carries out the actions it returns; the held parts themselves stay in the
/// handler (they are I/O buffers), this counts them.
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

    /// Request parts held behind an unanswered request (RFC 9112 §9.3.2: a server answers
    /// pipelined requests in order), and their body bytes.
    private(set) var heldParts = 0
    private(set) var heldBytes = 0
    /// Reads from the client stop at either bound (`ProxyLimits.heldPipelinedBytes`/`Parts`).
    let heldBytesLimit: Int
    let heldPartsLimit: Int
    private var upstreamWritable = true
    /// Whether the client's reads are on (autoRead), as last decided.
    private(set) var reading = true
    /// The proxy is shutting down: every exchange from now on closes the connection after its answer.
    private(set) var quiescing = false

    public init(timeouts: Timeouts, now: NIODeadline,
                heldBytesLimit: Int = ProxyLimits.heldPipelinedBytes, heldPartsLimit: Int = ProxyLimits.heldPipelinedParts) {
        self.timeouts = timeouts
        self.since = now
        self.heldBytesLimit = heldBytesLimit
        self.heldPartsLimit = heldPartsLimit
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

    // MARK: pipelining, read pausing, quiescing

    /// Where a request part goes.
    public enum PartDecision: Sendable, Equatable {
        /// To the exchange now.
        case handle
        /// Behind the unanswered request (or behind parts already held, to keep the order).
        case hold
    }

    /// The client's reads must change (set `autoRead`).
    public enum ReadAction: Sendable, Equatable {
        case pauseReads
        case resumeReads
    }

    /// What graceful shutdown (`ChannelShouldQuiesceEvent`) does to this connection.
    public enum QuiesceAction: Sendable, Equatable {
        /// Nothing in progress and nothing held: close at once.
        case closeNow
        /// An exchange is in progress: close after its answer (`Connection: close` on it).
        case closeAfterAnswer
        /// Requests are held: they are answered in turn, the next one closing the connection.
        case finishHeldRequests
    }

    /// Whether any request part is held.
    public var hasHeldParts: Bool { heldParts > 0 }

    /// A request part arrived: a read of the client's bytes, or the rest of one after a request
    /// that ended inside it (`bodyBytes`: its size, heads included). Held when the previous
    /// request is read in full but not answered, or when parts are held already.
    public mutating func requestPartArrived(bodyBytes: Int, previousRequestUnanswered: Bool) -> PartDecision {
        guard heldParts > 0 || previousRequestUnanswered else { return .handle }
        heldParts += 1
        heldBytes += bodyBytes
        return .hold
    }

    /// A held part was handed to the exchange.
    public mutating func heldPartReleased(bodyBytes: Int) {
        heldParts -= 1
        heldBytes -= bodyBytes
    }

    /// The client left: its held requests are not sent on its behalf.
    public mutating func heldPartsDiscarded() {
        heldParts = 0
        heldBytes = 0
    }

    /// The agent's connection became (un)writable: reads follow it (backpressure end to end).
    public mutating func upstreamWritabilityChanged(_ writable: Bool) {
        upstreamWritable = writable
    }

    /// Whether the client's reads must change now: on while the agent's connection can take
    /// more and less than the bounds is held, else off. Nil when they are as they should be.
    public mutating func readAction() -> ReadAction? {
        let wanted = upstreamWritable && heldBytes < heldBytesLimit && heldParts < heldPartsLimit
        guard wanted != reading else { return nil }
        reading = wanted
        return wanted ? .resumeReads : .pauseReads
    }

    /// The proxy is shutting down.
    public mutating func quiesce(exchangeInProgress: Bool) -> QuiesceAction {
        quiescing = true
        if exchangeInProgress { return .closeAfterAnswer }
        return heldParts > 0 ? .finishHeldRequests : .closeNow
    }
}
