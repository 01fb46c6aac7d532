import Foundation
import NIOCore
import NIOHTTP1
import TraceAnalysis

/// One client connection: feeds request parts and upstream events into an
/// `ExchangeStateMachine` and carries its actions out. Runs after NIO's HTTP/1.1 server pipeline
/// (which serialises pipelined requests), so at most one exchange is live at a time.
final class ProxyServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The state of the exchange in progress, beside its state machine.
    final class Exchange {
        let id: Int
        /// The request head as received, with an absolute-form target made origin-form.
        let head: HTTPRequestHead
        let endpoint: Endpoint
        /// How the body is delimited (`RequestFraming`), declared again on the agent hop.
        var framing: RequestFraming = .none
        var machine: ExchangeStateMachine
        var connection: UpstreamConnection?
        /// `upstream_timeout`: from the last request byte handed to the agent, then on silence.
        var answerClock: AnswerClock
        /// The agent's answer head as read, and its bytes.
        var answerHead: ScannedResponseHead?
        var answerHeadBytes: ByteBuffer?
        /// How the answer's body goes to the client (`ClientResponseHead`).
        var answerBody = ClientResponseHead.Body.relayed
        var status = ExchangeStatus.aborted
        var requestBytes = 0
        var responseBytes = 0
        /// The request body kept for analysis (analysed endpoints only): NIO's buffers, not a copy.
        var tap: AnalysisTap?
        /// Answer body kept for analysis (`GET /info`).
        var teeAnswer: [UInt8]?
        var closeAfterResponse: Bool
        /// False for the proxy's own admin routes (not the application's traffic).
        var isAgentTraffic = true
        var failureDetail: String?
        var recorded = false

        init(id: Int, head: HTTPRequestHead, endpoint: Endpoint, machine: ExchangeStateMachine, upstreamTimeout: TimeAmount) {
            self.id = id
            self.head = head
            self.endpoint = endpoint
            self.machine = machine
            self.answerClock = AnswerClock(timeout: upstreamTimeout)
            self.closeAfterResponse = !head.isKeepAlive
        }
    }

    private let shared: ProxyShared
    private let role: ListenerRole
    /// Writes the agent's answer bytes to the client as they are, beneath NIO's response
    /// encoder (which only the proxy's own answers go through).
    let rawOut: ClientBytesObserver
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var nextID = 0
    /// The connection's one answer timer, armed by the first exchange that needs it and re-armed
    /// by itself for whatever exchange is current (no timer scheduled and cancelled per request).
    private var answerTimer: Scheduled<Void>?
    /// The last request's route. A tracer sends the same one or two paths on a connection again
    /// and again, so classifying each path once per connection saves string work per request.
    private var lastRoute: (method: HTTPMethod, uri: String, endpoint: Endpoint, admin: Bool)?
    /// The last `Datadog-Agent-Version` handed to analysis from this connection's answers.
    private var lastAgentVersion: String?
    /// Writes are flushed once per read burst, not once per part (`FlushBatch`).
    private var flushes = FlushBatch<UpstreamConnection>()
    /// HTTP/1.1 pipelining: parts of requests that arrived while the previous exchange was still
    /// waiting for its answer, handled in order once it is over. (This replaces NIO's
    /// `HTTPServerPipelineHandler`, which paused and resumed reading around every exchange: two
    /// `epoll_ctl` calls per request for the pipelining tracers never do.)
    /// Whether a part is held, and read pausing, are `ConnectionStateMachine`'s decisions.
    private var held: CircularBuffer<HTTPServerRequestPart> = []
    private var drainScheduled = false
    /// The connection is being closed after a refusal or a failed request.
    private var closingConnection = false
    /// The connection's decisions: client timers (`header_timeout`, `body_timeout`,
    /// `idle_timeout`), holding pipelined requests, read pausing, quiescing.
    private var connectionState: ConnectionStateMachine
    /// The connection's one client timer (see `ConnectionStateMachine`).
    private var clientTimer: Scheduled<Void>?

    init(shared: ProxyShared, role: ListenerRole) {
        self.shared = shared
        self.role = role
        self.rawOut = ClientBytesObserver()
        self.connectionState = ConnectionStateMachine(timeouts: shared.timeouts, now: .now())
        rawOut.handler = self
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        armClientTimer(at: connectionState.firstCheck)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clientTimer?.cancel()
        clientTimer = nil
        self.context = nil
    }

    /// Raw bytes arrived from the client (seen by `ClientBytesObserver`, before HTTP decoding).
    func clientBytesArrived() {
        connectionState.bytesReceived(at: .now())
    }

    private func armClientTimer(at deadline: NIODeadline) {
        guard let context else { return }
        clientTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            clientTimer = nil
            clientTimerFired()
        }
    }

    private func clientTimerFired() {
        guard let context else { return }
        switch connectionState.timerFired(at: .now()) {
        case .checkAgain(let deadline):
            armClientTimer(at: deadline)
        case .stop:
            break
        case .closeIdle:
            context.close(promise: nil)
        case .respondRequestTimeout:
            // No exchange is live (the head is not complete), so no answer has started.
            shared.count(.headerTimeout, path: Self.noRequestPath, endpoint: Self.noRequestEndpoint)
            let detail = ErrorDetail.text(for: .headerTimeout, configuration: shared.configuration, failure: nil)
            let response = LocalResponse.error(.headerTimeout, upstream: shared.configuration.upstream, detail: detail)
            write(LocalAnswer(response, requestVersion: .http1_1, requestMethod: nil, close: true), response, body: nil, context: context)
        case .failBody:
            if let exchange { perform(exchange.machine.requestFailed(.bodyTimeout), exchange) } else { context.close(promise: nil) }
        }
    }

    // MARK: client events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After a refusal or a failed request nothing more from this client is trusted to start a
        // request (RFC 9112 §6.1: the connection MUST be closed): the rest is dropped unread.
        guard !closingConnection else { return }
        let part = unwrapInboundIn(data)
        if connectionState.requestPartArrived(bodyBytes: Self.bodyBytes(of: part), previousRequestUnanswered: previousRequestUnanswered) == .hold {
            held.append(part)
            updateClientReads()
            return
        }
        flushes.clientReadStarted()
        defer { flushes.clientReadEnded() }
        handle(part, context: context)
    }

    private func handle(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            start(head)
        case .body(let body):
            guard let exchange else { return }
            exchange.requestBytes += body.readableBytes
            let action = exchange.machine.requestBody(body)
            exchange.tap?.keep(body, receivedSoFar: exchange.machine.bodyBytes, allocator: context.channel.allocator)
            perform(action, exchange, body: body)
        case .end:
            guard let exchange, !exchange.machine.isClosed else { return }
            connectionState.requestEnded()
            teeRequest(exchange)
            perform(exchange.machine.requestEnd(), exchange)
        }
    }

    /// A request NIO could not parse (already answered `400` with `Connection: close` by
    /// `HTTPServerProtocolErrorHandler` when no answer had started) or an I/O error: the
    /// connection cannot go on. A malformed body (bad chunk size, RFC 9112 §7.1) fails the
    /// exchange in progress as `bad_request`, not `client_aborted`, and drops its half-sent
    /// request upstream.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The client closing in the middle of a request is `client_aborted` (channelInactive),
        // not a malformed request, though NIO's parser reports it as an error too.
        if let parserError = error as? HTTPParserError, parserError != .invalidEOFState, !closingConnection {
            if let exchange, exchange.machine.isReceivingRequest, !exchange.machine.isClosed {
                // Nothing of an answer was written while the request was still arriving. The
                // exchange fails first (counted, its agent connection dropped), then the 400.
                let action = exchange.machine.requestFailed(.badRequest)
                answerBadRequest(context: context, closing: false)
                perform(action, exchange)
            } else if exchange == nil {
                shared.count(.badRequest, path: Self.noRequestPath, endpoint: Self.noRequestEndpoint)
                answerBadRequest(context: context, closing: true)
                return
            } else {
                // A pipelined request that cannot be parsed while an answer is awaited or being
                // relayed: that answer cannot be completed with a 400 inside it, so the connection
                // closes (the client sees a truncated answer, never a wrong one).
                shared.count(.badRequest, path: Self.noRequestPath, endpoint: Self.noRequestEndpoint)
            }
        }
        connectionState.closing()
        closingConnection = true
        context.close(promise: nil)
    }

    /// `400` with `Connection: close` for a request NIO's parser refused (what NIO's
    /// `HTTPServerProtocolErrorHandler` answered before the agent's answers went beneath the
    /// encoder), then the connection closes.
    /// `closing`: close once it is written (else the caller closes).
    private func answerBadRequest(context: ChannelHandlerContext, closing: Bool) {
        connectionState.closing()
        closingConnection = true
        let detail = "the request could not be parsed as HTTP/1.1 (RFC 9112)"
        let response = LocalResponse.error(.badRequest, upstream: shared.configuration.upstream, detail: detail)
        let answer = LocalAnswer(response, requestVersion: .http1_1, requestMethod: nil, close: true)
        write(answer, response, body: nil, context: context, closes: closing)
    }

    /// Graceful shutdown (`ProxyServer.shutdown`): an idle connection closes at once, a busy one
    /// after its answer (with `Connection: close` when the answer has not started).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        switch connectionState.quiesce(exchangeInProgress: exchange != nil) {
        case .closeAfterAnswer: exchange?.closeAfterResponse = true
        case .closeNow: context.close(promise: nil)
        case .finishHeldRequests: break  // each exchange started from now on closes after its answer
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushUpstream()
        context.fireChannelReadComplete()
    }

    private func flushUpstream() {
        flushes.takeUpstream()?.channel.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        answerTimer?.cancel()
        answerTimer = nil
        clientTimer?.cancel()
        clientTimer = nil
        connectionState.closing()
        held.removeAll()  // pipelined requests of a client that left are not sent on its behalf
        connectionState.heldPartsDiscarded()
        flushUpstream()
        if let exchange {
            perform(exchange.machine.clientClosed(), exchange)
            self.exchange = nil
        }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Backpressure: stop reading the agent while the client cannot take more.
        if let channel = exchange?.connection?.channel {
            channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    private func start(_ received: HTTPRequestHead) {
        nextID += 1
        connectionState.requestHeadReceived(at: .now())
        var head = received
        if let origin = Self.originForm(of: head.uri) { head.uri = origin }
        let framing = RequestFraming.decide(method: head.method, version: head.version, headers: head.headers)
        let (endpoint, adminPath) = route(head)
        let mode: ExchangeStateMachine.Mode
        let agentTraffic: Bool
        switch role {
        case .admin:
            mode = .local
            agentTraffic = false
        case .traffic(let servesAdmin):
            agentTraffic = !(servesAdmin && adminPath)
            mode = agentTraffic && shared.configuration.upstream != .none ? .forward : .local
        }
        let exchange = Exchange(id: nextID, head: head, endpoint: endpoint,
                                machine: ExchangeStateMachine(mode: mode, maxBodyBytes: shared.configuration.maxBodyBytes),
                                upstreamTimeout: shared.upstreamTimeout)
        exchange.isAgentTraffic = agentTraffic
        let declared: Int?
        switch framing {
        case .success(let decided):
            exchange.framing = decided
            if case .contentLength(let length) = decided { declared = length } else { declared = nil }
        case .failure(let refusal):
            exchange.failureDetail = refusal.reason
            self.exchange = exchange
            connectionState.closing()
            perform(exchange.machine.requestRefused(refusal.outcome), exchange)
            return
        }
        if shared.configuration.analysis, agentTraffic, endpoint.tee.keepsRequestBody {
            exchange.tap = AnalysisTap(queue: shared.queue, declaredLength: declared, maxBodyBytes: exchange.machine.maxBodyBytes)
        }
        if connectionState.quiescing { exchange.closeAfterResponse = true }
        self.exchange = exchange
        let action = exchange.machine.requestHead(contentLength: declared)
        if case .respondError = action {} else if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }), let context {
            // The proxy takes the body whatever the agent would say, so it invites it at once
            // (RFC 9110 §10.1.1 lets a proxy answer 100 itself); the agent's own 100 is dropped.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        perform(action, exchange)
    }

    /// Where the report counts errors that happen before a request head is read (a head NIO
    /// cannot parse, `header_timeout`): there is no path yet.
    static let noRequestPath = "-"
    static let noRequestEndpoint = Endpoint(method: "GET", uri: noRequestPath)

    /// The origin-form (`/path?query`) of an absolute-form target (`http://host/path`, RFC 9112
    /// §3.2.2), or nil when `uri` is not absolute-form. Requests only ever go to the configured
    /// agent; the authority is dropped so that routing, admin paths and analysis see the path.
    static func originForm(of uri: String) -> String? {
        guard let first = uri.utf8.first, first != UInt8(ascii: "/"), first != UInt8(ascii: "*"),
              let scheme = uri.range(of: "://") else { return nil }
        let rest = uri[scheme.upperBound...]
        guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
        let tail = rest[slash...]
        return tail.first == "?" ? "/" + tail : String(tail)
    }

    /// The request's endpoint family, and whether the admin routes own its path.
    private func route(_ head: HTTPRequestHead) -> (Endpoint, Bool) {
        if let last = lastRoute, last.method == head.method, last.uri == head.uri { return (last.endpoint, last.admin) }
        let endpoint = Endpoint(method: head.method.rawValue, uri: head.uri)
        let admin = AdminRoutes.owns(uri: head.uri)
        lastRoute = (head.method, head.uri, endpoint, admin)
        return (endpoint, admin)
    }

    // MARK: actions

    private func perform(_ action: ExchangeStateMachine.Action, _ exchange: Exchange, body: ByteBuffer? = nil) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .connectUpstream, .reconnectUpstream:
            // The usual case first, without a completion closure: an idle keep-alive connection.
            if action == .connectUpstream, let connection = shared.pool.leaseIdle(on: context.eventLoop) {
                upstreamLeased(connection, exchange)
                return
            }
            let id = exchange.id
            shared.pool.lease(on: context.eventLoop, newConnection: true) { [self] result in
                guard let current = self.exchange, current.id == id else {
                    if case .success(let connection) = result { shared.pool.release(connection, reusable: true) }
                    return
                }
                switch result {
                case .success(let connection):
                    upstreamLeased(connection, current)
                case .failure(let error):
                    current.status = .error
                    let outcome: ProxyOutcome
                    if case .connectTimeout = error as? ChannelError { outcome = .upstreamTimeout } else { outcome = .upstreamUnreachable }
                    current.failureDetail = "\(error)"
                    perform(current.machine.upstreamConnectFailed(outcome), current)
                }
            }
        case .forward(let parts, let startTimer):
            guard let connection = exchange.connection else { return }
            for part in parts {
                switch part {
                case .head:
                    // The head as received, changed only where the next hop needs it (a tracer's
                    // usual request: not at all, so no copy of the head or its headers).
                    var head = exchange.head
                    if head.version != .http1_1 { head.version = .http1_1 }
                    if HopByHopHeaders.forwardingChanges(head.headers, framing: exchange.framing) {
                        head.headers = HopByHopHeaders.forwarded(head.headers, framing: exchange.framing)
                    }
                    connection.channel.write(HTTPClientRequestPart.head(head), promise: nil)
                case .body(let buffer):
                    connection.channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
                case .end:
                    connection.channel.write(HTTPClientRequestPart.end(nil), promise: nil)
                }
            }
            let flush = flushes.wroteUpstream(connection, endOfRequest: parts.contains(.end))
            flush.previous?.channel.flush()
            if flush.now { connection.channel.flush() }  // else in channelReadComplete
            if startTimer { startAnswerTimer(exchange) }
        case .respondLocally:
            let method = exchange.head.method.rawValue
            if exchange.isAgentTraffic {
                writeLocal(SinkResponder.respond(method: method, uri: exchange.head.uri), exchange, close: false)
                finish(exchange)
                return
            }
            // Admin pages are rendered off the event loop (`AdminRenderer`); the exchange stays
            // current meanwhile, so pipelined requests wait behind it in order.
            let id = exchange.id
            shared.renderer.respond(method: method, uri: exchange.head.uri, on: context.eventLoop).assumeIsolated().whenSuccess { [self] answer in
                guard let current = self.exchange, current.id == id else { return }
                writeLocal(answer.response, current, close: false, body: answer.body)
                finish(current)
            }
        case .respondError(let outcome, let closeClient, let dropUpstream):
            shared.count(outcome, path: exchange.head.uri, endpoint: exchange.endpoint)
            if dropUpstream { drop(exchange) }
            let detail = ErrorDetail.text(for: outcome, configuration: shared.configuration, failure: exchange.failureDetail)
            let response = LocalResponse.error(outcome, upstream: shared.configuration.upstream, detail: detail)
            if closeClient { closingConnection = true }
            writeLocal(response, exchange, close: closeClient)
            if closeClient { finish(exchange, keepExchange: true) } else if exchange.machine.isComplete { finish(exchange) }
        case .relayHead:
            guard let upstreamHead = exchange.answerHead, let headBytes = exchange.answerHeadBytes else { return }
            exchange.answerHeadBytes = nil
            // The timer keeps running, as a silence timer.
            if let latency = exchange.answerClock.answerStarted(at: .now()) {
                shared.metrics.recordUpstreamLatency(endpoint: exchange.endpoint.label, nanoseconds: latency.nanoseconds)
            }
            exchange.status = .http(upstreamHead.status)
            if shared.configuration.analysis, exchange.endpoint.tee == .agentInfo, exchange.isAgentTraffic, upstreamHead.status == 200 { exchange.teeAnswer = [] }
            let relayed = headBytes.withUnsafeReadableBytes { bytes in
                // The agent's version on every answer (V4-AGENT): handed over once per connection and version.
                if shared.configuration.analysis, let range = upstreamHead.agentVersion {
                    let version = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
                    if version != lastAgentVersion {
                        lastAgentVersion = version
                        _ = shared.queue.offer(.agentVersion(version, receivedAt: Date()))
                    }
                }
                return ClientResponseHead(upstream: upstreamHead, bytes: bytes, requestHTTP11: exchange.head.version == .http1_1,
                                          closeAfterResponse: exchange.closeAfterResponse)
            }
            exchange.closeAfterResponse = relayed.closeAfterResponse
            exchange.answerBody = relayed.body
            rawOut.write(relayed.rewritten.map { context.channel.allocator.buffer(bytes: $0) } ?? headBytes)
            flushes.wroteClient()
        case .relayBody:
            guard let body else { return }
            exchange.answerClock.answerPartArrived(at: .now())
            exchange.responseBytes += body.readableBytes
            // A chunked answer is teed from its de-chunked data (`relayData`).
            if exchange.teeAnswer != nil, exchange.answerHead?.framing != .chunked { exchange.teeAnswer!.append(contentsOf: body.readableBytesView) }
            if exchange.answerBody == .relayed {
                rawOut.write(body)
                flushes.wroteClient()
            }
        case .relayEnd(let reuseUpstream, let exchangeComplete):
            if let connection = exchange.connection {
                exchange.connection = nil
                shared.pool.release(connection, reusable: reuseUpstream)
            }
            if let answer = exchange.teeAnswer {
                shared.tee(.agentInfo(body: answer, receivedAt: Date()), path: exchange.head.uri, endpoint: exchange.endpoint)
                exchange.teeAnswer = nil
            }
            _ = flushes.takeClient()  // flushed with the end
            if exchange.closeAfterResponse {
                rawOut.flushThenClose()
            } else {
                context.flush()
            }
            if exchangeComplete { finish(exchange) }
        case .closeClient(let outcome, let dropUpstream):
            if let outcome { shared.count(outcome, path: exchange.head.uri, endpoint: exchange.endpoint) }
            if dropUpstream { drop(exchange) }
            if flushes.takeClient() { context.flush() }  // the part of the answer relayed so far
            connectionState.closing()
            closingConnection = true
            context.close(promise: nil)
        case .exchangeComplete:
            finish(exchange)
        case .abandon(let outcome, let dropUpstream):
            if let outcome { shared.count(outcome, path: exchange.head.uri, endpoint: exchange.endpoint) }
            if dropUpstream { drop(exchange) }
            record(exchange)
        case .discardUpstream:
            break  // handled where the lease completes
        case .dropUpstream:
            drop(exchange)
        }
    }

    private func upstreamLeased(_ connection: UpstreamConnection, _ exchange: Exchange) {
        let action = exchange.machine.upstreamConnected(reused: connection.isReused)
        if case .discardUpstream = action {
            shared.pool.release(connection, reusable: true)
            return
        }
        exchange.connection = connection
        connection.relay.delegate = self
        // The de-chunked data of a chunked answer is wanted for the `/info` tee and by an
        // HTTP/1.0 client (which cannot read chunks).
        let teesAnswer = shared.configuration.analysis && exchange.endpoint.tee == .agentInfo && exchange.isAgentTraffic
        connection.relay.expectAnswer(answersHead: exchange.head.method == .HEAD, collectsData: teesAnswer || exchange.head.version != .http1_1)
        if let context, !context.channel.isWritable {
            connection.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
        perform(action, exchange)
    }

    private func startAnswerTimer(_ exchange: Exchange) {
        exchange.answerClock.requestSent(at: .now())
        if answerTimer == nil { armAnswerTimer(in: shared.upstreamTimeout) }
    }

    /// The connection's one answer timer (`AnswerClock` decides): when it fires it looks at the
    /// current exchange and re-arms itself for what is left, or times the exchange out. A fire
    /// for an exchange that has ended is a no-op (`ExchangeStateMachine.timeout()`).
    private func armAnswerTimer(in delay: TimeAmount) {
        guard let context else { return }
        answerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            answerTimer = nil
            guard let current = self.exchange else { return }
            switch current.answerClock.check(at: .now()) {
            case .notWaiting:
                break
            case .checkAgain(let delay):
                armAnswerTimer(in: delay)
            case .timedOut:
                let action = current.machine.timeout()
                if case .respondError = action { current.status = .http(504) }
                perform(action, current)
            }
        }
    }

    private func drop(_ exchange: Exchange) {
        if let connection = exchange.connection {
            exchange.connection = nil
            shared.pool.release(connection, reusable: false)
        }
    }

    /// The request is over: tee it, unless the limit was hit.
    private func teeRequest(_ exchange: Exchange) {
        guard shared.configuration.analysis, exchange.isAgentTraffic, exchange.machine.bodyBytes <= exchange.machine.maxBodyBytes else { return }
        // Requests whose body is not kept are handed over too (the report counts them).
        let (body, reserved): (TeeBody, Int)
        switch exchange.tap?.handOff() ?? .offer(TeeBody(), reserved: 0) {
        case .countNotAnalysed:
            shared.countNotAnalysed(path: exchange.head.uri, endpoint: exchange.endpoint)
            return
        case .offer(let kept, let bytes):
            (body, reserved) = (kept, bytes)
        }
        // The head and NIO's body buffers go as they are; the analysis thread builds the
        // `CapturedRequest` and the contiguous body (no copy of the body on the event loop).
        let forwarded = ForwardedRequest(head: exchange.head, body: body, receivedAt: Date())
        shared.tee(.forwarded(forwarded), reserved: reserved, path: exchange.head.uri, endpoint: exchange.endpoint)
    }

    private func finish(_ exchange: Exchange, keepExchange: Bool = false) {
        record(exchange)
        if keepExchange { connectionState.closing() }
        if !keepExchange, self.exchange === exchange {
            self.exchange = nil
            connectionState.exchangeEnded(at: .now())
            if connectionState.hasHeldParts { scheduleDrain() }
        }
    }

    // MARK: pipelining

    /// The current exchange has its whole request and waits for (or writes) its answer: a new
    /// request part belongs to the next request and waits in `held`.
    private var previousRequestUnanswered: Bool {
        guard let exchange else { return false }
        return !exchange.machine.isReceivingRequest
    }

    private static func bodyBytes(of part: HTTPServerRequestPart) -> Int {
        if case .body(let body) = part { return body.readableBytes }
        return 0
    }

    /// Handles held parts on the next loop tick (not inside the call that ended the exchange).
    private func scheduleDrain() {
        guard !drainScheduled, let context else { return }
        drainScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            drainScheduled = false
            guard let context = self.context else { return }
            while !previousRequestUnanswered, let part = held.popFirst() {
                connectionState.heldPartReleased(bodyBytes: Self.bodyBytes(of: part))
                handle(part, context: context)
            }
            flushUpstream()
            updateClientReads()
        }
    }

    /// Reads from the client while the agent's connection can take more and little is held.
    private func updateClientReads() {
        guard let context, let action = connectionState.readAction() else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: action == .resumeReads).whenFailure { _ in }
    }

    private func record(_ exchange: Exchange) {
        guard !exchange.recorded else { return }
        exchange.recorded = true
        shared.metrics.recordExchange(endpoint: exchange.endpoint.label, status: exchange.status.label,
                                      requestBytes: exchange.requestBytes, responseBytes: exchange.responseBytes)
    }

    /// `body`: the answer's body already in a buffer (a cached admin page), else made from `response`.
    private func writeLocal(_ response: LocalResponse, _ exchange: Exchange, close: Bool, body: ByteBuffer? = nil) {
        guard let context else { return }
        exchange.status = .http(response.status)
        let answer = LocalAnswer(response, requestVersion: exchange.head.version, requestMethod: exchange.head.method,
                                 close: close || exchange.closeAfterResponse)
        if answer.sendsBody { exchange.responseBytes += response.body.count }
        write(answer, response, body: body, context: context)
    }

    /// `closes`: close the connection once the answer is written (default: when the answer says so).
    private func write(_ answer: LocalAnswer, _ response: LocalResponse, body: ByteBuffer?, context: ChannelHandlerContext, closes: Bool? = nil) {
        context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
        if answer.sendsBody {
            context.write(wrapOutboundOut(.body(.byteBuffer(body ?? context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        if closes ?? answer.closeAfter {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

extension ProxyServerHandler: UpstreamResponseDelegate {
    func upstreamResponseHead(_ head: ScannedResponseHead, bytes: ByteBuffer) {
        guard let exchange else { return }
        exchange.answerHead = head
        exchange.answerHeadBytes = bytes
        perform(exchange.machine.upstreamResponseHead(), exchange)
    }

    /// De-chunked data of a chunked answer: teed (`/info`), and what an HTTP/1.0 client gets.
    func upstreamResponseData(_ data: ByteBuffer) {
        guard let exchange, exchange.machine.upstreamResponseBody() == .relayBody else { return }
        if exchange.teeAnswer != nil { exchange.teeAnswer!.append(contentsOf: data.readableBytesView) }
        if exchange.answerBody == .deChunked {
            rawOut.write(data)
            flushes.wroteClient()
        }
    }

    func upstreamResponseBody(_ body: ByteBuffer) {
        guard let exchange else { return }
        perform(exchange.machine.upstreamResponseBody(), exchange, body: body)
    }

    func upstreamResponseEnd(keepAlive: Bool) {
        guard let exchange else { return }
        perform(exchange.machine.upstreamResponseEnd(keepAlive: keepAlive), exchange)
    }

    func upstreamReadComplete() {
        if flushes.takeClient() { context?.flush() }
    }

    func upstreamClosed() {
        guard let exchange else { return }
        exchange.connection = nil
        if exchange.status == .aborted { exchange.status = .error }
        perform(exchange.machine.upstreamClosed(), exchange)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        connectionState.upstreamWritabilityChanged(isWritable)
        updateClientReads()
    }
}
