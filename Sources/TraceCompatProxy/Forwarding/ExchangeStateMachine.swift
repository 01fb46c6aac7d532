import NIOCore

/// The life of one request/response exchange on a client connection, without I/O.
///
/// The channel handler feeds events in (request parts from the client, upstream connection
/// results, answer parts from the agent, the timer, the client going away) and carries the
/// returned action out. Every edge case (answer before the body ends, agent gone mid-answer,
/// body over the limit after the answer started, …) is decided here, so it is a unit test
/// without a socket — the pattern of async-http-client's `HTTPRequestStateMachine`.
///
/// Rules it encodes:
/// - Body parts that arrive while the upstream connection is being opened are held, in order,
///   and flushed once it is open: nothing is reordered or dropped.
/// - An error answer (502, 504) is only written once the whole request was read, so the
///   connection stays in sync for the next request (RFC 9112 §9.3: a server that does not read
///   the rest of the body must close). 413 is the exception: it is answered at once and the
///   connection closed, since reading an over-limit body is what the limit is there to avoid.
/// - The timer for 504 starts when the last request byte is handed to the agent; once the answer
///   has started it is a silence timer (reset by every answer part), and closes the client
///   connection when it fires.
/// - An upstream connection is reused only when the agent ended its answer on a keep-alive
///   connection after receiving the whole request.
/// - A reused connection that closes before any answer was most likely closed by the agent
///   while idle: the request is replayed once, whole, on a new connection.
public struct ExchangeStateMachine: Sendable {
    /// A request part waiting for the upstream connection.
    public enum UpstreamPart: Sendable, Equatable {
        case head
        case body(ByteBuffer)
        case end
    }

    /// How this exchange is answered.
    public enum Mode: Sendable, Equatable {
        /// Forwarded to the agent.
        case forward
        /// Answered by the proxy itself (sink mode, admin routes) once the request is read.
        case local
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Open (or lease) an upstream connection.
        case connectUpstream
        /// A reused keep-alive connection turned out closed before answering: open a new one
        /// (not from the pool); the request parts are replayed from the start.
        case reconnectUpstream
        /// Write these parts upstream, in order; start the answer timer if `startTimer`.
        case forward([UpstreamPart], startTimer: Bool)
        /// Answer the request locally (sink answer or admin route); the exchange then completes.
        case respondLocally
        /// Answer with `outcome.status` and a one-line JSON body; close the client connection
        /// afterwards if `closeClient`; drop the upstream connection if `dropUpstream`.
        case respondError(ProxyOutcome, closeClient: Bool, dropUpstream: Bool)
        /// Pass the agent's status line and headers on (hop-by-hop headers removed).
        case relayHead
        /// Pass a part of the agent's answer on.
        case relayBody
        /// Pass the end of the answer on; give the upstream connection back to the pool when
        /// `reuseUpstream`, else close it. `exchangeComplete` when the request was read fully too.
        case relayEnd(reuseUpstream: Bool, exchangeComplete: Bool)
        /// The exchange cannot finish cleanly: close the client connection (and the upstream one
        /// if `dropUpstream`), counting `outcome` when present.
        case closeClient(ProxyOutcome?, dropUpstream: Bool)
        /// The request was fully read after the answer had already ended: the exchange is over.
        case exchangeComplete
        /// The client is gone: drop the upstream connection and count `outcome` when present.
        case abandon(ProxyOutcome?, dropUpstream: Bool)
        /// Return an upstream connection that is no longer wanted (closed, not reused).
        case discardUpstream
        /// Close the upstream connection in use; the client's answer comes later.
        case dropUpstream
    }

    enum RequestState: Sendable, Equatable {
        case receiving
        case complete
    }

    enum UpstreamState: Sendable, Equatable {
        case notNeeded
        case connecting(pending: [UpstreamPart])
        /// `replay` holds the parts sent so far while a retry is still possible (reused
        /// connection, no answer yet, no retry done).
        case connected(replay: [UpstreamPart]?)
        /// The connection failed before an answer started; the error is answered at request end.
        case failed(ProxyOutcome)
        case finished
    }

    enum ResponseState: Sendable, Equatable {
        case waiting
        case streaming
        case complete
        /// The proxy answered (error or local) and ignores anything the agent still sends.
        case answeredByProxy
    }

    public private(set) var bodyBytes = 0
    public let maxBodyBytes: Int
    let mode: Mode
    var request = RequestState.receiving
    var upstream = UpstreamState.notNeeded
    var response = ResponseState.waiting
    var closed = false
    var retried = false
    var timerStarted = false

    public init(mode: Mode, maxBodyBytes: Int) {
        self.mode = mode
        self.maxBodyBytes = maxBodyBytes
    }

    public var isComplete: Bool { request == .complete && (response == .complete || response == .answeredByProxy) }
    /// The client's request has not ended yet (its parts still belong to this exchange).
    public var isReceivingRequest: Bool { request == .receiving }

    /// The client sent a request head. `contentLength` as declared, if any.
    public mutating func requestHead(contentLength: Int?) -> Action {
        if let contentLength, contentLength > maxBodyBytes {
            closed = true
            response = .answeredByProxy
            return .respondError(.payloadTooLarge, closeClient: true, dropUpstream: false)
        }
        guard mode == .forward else { return .none }
        // Room for a tracer's whole request (head, body, end): the parts kept for a replay on a
        // reused connection then grow in place, without a new array per part.
        var pending: [UpstreamPart] = [.head]
        pending.reserveCapacity(3)
        upstream = .connecting(pending: pending)
        return .connectUpstream
    }

    /// The request head cannot be forwarded as it is (`RequestFraming`): answer `outcome`'s
    /// status and close (RFC 9112 §6.1: after a framing refusal the connection MUST close, the
    /// rest of the bytes cannot be trusted to start a request). Nothing was sent upstream.
    public mutating func requestRefused(_ outcome: ProxyOutcome) -> Action {
        closed = true
        response = .answeredByProxy
        return .respondError(outcome, closeClient: true, dropUpstream: false)
    }

    /// The request cannot go on: its chunked body is malformed (`.badRequest`; NIO's error
    /// handler answers 400 when no answer started) or the client fell silent for `body_timeout`
    /// (`.bodyTimeout`). The request is incomplete upstream, so that connection is dropped, and
    /// the client connection closes.
    public mutating func requestFailed(_ outcome: ProxyOutcome) -> Action {
        guard !closed, request == .receiving else { return .none }
        closed = true
        let dropUpstream = upstreamIsHeld
        upstream = .finished
        return .closeClient(outcome, dropUpstream: dropUpstream)
    }

    /// The exchange ended early (refused, failed or closed): nothing more it receives counts.
    public var isClosed: Bool { closed }

    /// A part of the request body arrived from the client. `dataBytes`: the content bytes in it
    /// (fewer than `part`'s for a chunked body, whose framing is forwarded with it; nil: all of
    /// it), counted against `max_body_bytes`.
    public mutating func requestBody(_ part: ByteBuffer, dataBytes: Int? = nil) -> Action {
        guard !closed else { return .none }
        bodyBytes += dataBytes ?? part.readableBytes
        if bodyBytes > maxBodyBytes {
            closed = true
            let dropUpstream = upstreamIsHeld
            upstream = .finished
            if response == .waiting {
                response = .answeredByProxy
                return .respondError(.payloadTooLarge, closeClient: true, dropUpstream: dropUpstream)
            }
            return .closeClient(.payloadTooLarge, dropUpstream: dropUpstream)
        }
        switch upstream {
        case .connecting(var pending):
            upstream = .finished  // drops the state's reference: the append below is in place
            pending.append(.body(part))
            upstream = .connecting(pending: pending)
            return .none
        case .connected(var replay) where response != .complete:
            if replay != nil, response == .waiting {
                upstream = .finished  // drops the state's reference: the append below is in place
                replay!.append(.body(part))
                upstream = .connected(replay: replay)
            }
            return .forward([.body(part)], startTimer: false)
        default:
            return .none  // local answer, failed upstream or early answer: read and discard
        }
    }

    /// The client finished its request.
    public mutating func requestEnd() -> Action {
        guard !closed else { return .none }
        request = .complete
        switch upstream {
        case .connecting(var pending):
            upstream = .finished  // drops the state's reference: the append below is in place
            pending.append(.end)
            upstream = .connecting(pending: pending)
            return .none
        case .connected(var replay):
            if response == .complete { return .exchangeComplete }
            if replay != nil, response == .waiting {
                upstream = .finished  // drops the state's reference: the append below is in place
                replay!.append(.end)
                upstream = .connected(replay: replay)
            }
            return .forward([.end], startTimer: startTimer())
        case .failed(let outcome):
            response = .answeredByProxy
            upstream = .finished
            return .respondError(outcome, closeClient: false, dropUpstream: false)
        case .finished:
            return isComplete ? .exchangeComplete : .none
        case .notNeeded:
            response = .answeredByProxy
            return .respondLocally
        }
    }

    /// The upstream connection is open: flush what waited for it. `reused` when it is a
    /// keep-alive connection from the pool, which the agent may have closed meanwhile.
    public mutating func upstreamConnected(reused: Bool = false) -> Action {
        guard case .connecting(let pending) = upstream, !closed else { return .discardUpstream }
        upstream = .connected(replay: reused && !retried ? pending : nil)
        return .forward(pending, startTimer: pending.last == .end && startTimer())
    }

    /// True the first time only: the answer timer runs once per exchange, retry included.
    private mutating func startTimer() -> Bool {
        defer { timerStarted = true }
        return !timerStarted
    }

    /// Opening the upstream connection failed (`.upstreamTimeout` when connecting took too long).
    public mutating func upstreamConnectFailed(_ outcome: ProxyOutcome) -> Action {
        guard case .connecting = upstream, !closed else { return .none }
        return fail(outcome, dropUpstream: false)
    }

    /// The agent's status line and headers arrived.
    public mutating func upstreamResponseHead() -> Action {
        guard response == .waiting, case .connected = upstream else { return .none }
        upstream = .connected(replay: nil)
        response = .streaming
        return .relayHead
    }

    public mutating func upstreamResponseBody() -> Action {
        guard response == .streaming, !closed else { return .none }
        return .relayBody
    }

    /// The agent ended its answer; `keepAlive` when its connection may carry another request.
    public mutating func upstreamResponseEnd(keepAlive: Bool) -> Action {
        guard response == .streaming, !closed else { return .none }
        response = .complete
        let requestSent = request == .complete
        upstream = .finished
        return .relayEnd(reuseUpstream: keepAlive && requestSent, exchangeComplete: requestSent)
    }

    /// The upstream connection closed or failed (reset, EOF) while this exchange used it.
    public mutating func upstreamClosed() -> Action {
        guard !closed else { return .none }
        switch (upstream, response) {
        case (.connected(let replay?), .waiting):
            // A stale keep-alive connection (closed by the agent while idle in the pool):
            // nothing was answered, so the request is sent again on a new connection, once.
            retried = true
            upstream = .connecting(pending: replay)
            return .reconnectUpstream
        case (.connected, .waiting):
            return fail(.upstreamUnreachable, dropUpstream: true)
        case (.connected, .streaming), (.finished, .streaming):
            closed = true
            upstream = .finished
            return .closeClient(.upstreamReset, dropUpstream: true)
        default:
            return .none
        }
    }

    /// The answer timer fired.
    /// Before the status line: 504. While the answer streams (the handler re-arms the timer
    /// while parts keep coming, so this means `upstream_timeout` seconds without a byte): the
    /// status line is out already, so the client connection is closed and the answer cut.
    public mutating func timeout() -> Action {
        guard !closed else { return .none }
        switch (upstream, response) {
        case (.connected, .waiting), (.connecting, .waiting):
            return fail(.upstreamTimeout, dropUpstream: true)
        case (.connected, .streaming):
            closed = true
            upstream = .finished
            return .closeClient(.upstreamTimeout, dropUpstream: true)
        default:
            return .none
        }
    }

    /// The client connection closed.
    public mutating func clientClosed() -> Action {
        if closed || isComplete { closed = true; return .abandon(nil, dropUpstream: upstreamIsHeld) }
        closed = true
        let dropUpstream = upstreamIsHeld
        upstream = .finished
        return .abandon(.clientAborted, dropUpstream: dropUpstream)
    }

    var upstreamIsHeld: Bool {
        switch upstream {
        case .connected, .connecting: return true
        default: return false
        }
    }

    private mutating func fail(_ outcome: ProxyOutcome, dropUpstream: Bool) -> Action {
        if request == .complete {
            response = .answeredByProxy
            upstream = .finished
            return .respondError(outcome, closeClient: false, dropUpstream: dropUpstream)
        }
        upstream = .failed(outcome)
        // Answered once the request is fully read (see requestEnd); the upstream goes now.
        return dropUpstream ? .dropUpstream : .none
    }
}
