import Foundation
import NIOCore
import NIOHTTP1
import TraceAnalysis

/// One client connection: reads the client's bytes with a `RequestStream` (no HTTP decoder),
/// feeds the requests and upstream events into an `ExchangeStateMachine` and carries its
/// actions out. Pipelined requests wait as bytes behind the one being answered, so at most one
/// exchange is live at a time.
final class ProxyServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = HTTPServerResponsePart

    /// The state of the exchange in progress, beside its state machine.
    final class Exchange {
        let id: Int
        /// The method, and the target made origin-form (an absolute-form one), as strings from
        /// the connection's route cache (for routing, counts, local answers and analysis).
        let method: String
        let uri: String
        let isHEAD: Bool
        let http11: Bool
        /// The head's bytes as the client sent them, and what `RequestHeadScanner` read of them.
        let headBytes: ByteBuffer
        let scanned: ScannedRequestHead
        /// The head as the agent gets it: `headBytes` itself for a tracer's usual head, else
        /// written again (`UpstreamRequestHead`).
        var upstreamHead: ByteBuffer
        let endpoint: Endpoint
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

        init(id: Int, route: Route, headBytes: ByteBuffer, scanned: ScannedRequestHead, machine: ExchangeStateMachine, upstreamTimeout: TimeAmount) {
            self.id = id
            self.method = route.method
            self.uri = route.uri
            self.isHEAD = route.isHEAD
            self.http11 = scanned.http11
            self.headBytes = headBytes
            self.scanned = scanned
            self.upstreamHead = headBytes
            self.endpoint = route.endpoint
            self.machine = machine
            self.answerClock = AnswerClock(timeout: upstreamTimeout)
            self.closeAfterResponse = !scanned.flags.contains(.keepAlive)
        }
    }

    /// A request-line's routing, kept per connection: a tracer sends the same one or two
    /// request-lines on a connection again and again, so each is turned into strings and
    /// classified once, not per request.
    struct Route {
        /// The request-line's `method SP target` bytes as received.
        var key: [UInt8]
        var method: String
        /// The target, made origin-form when it was absolute-form.
        var uri: String
        /// Set when the target was absolute-form (the head is then written again for the agent).
        var originForm: String?
        var isHEAD: Bool
        var endpoint: Endpoint
        /// The admin routes own the path.
        var admin: Bool
    }

    private let shared: ProxyShared
    private let role: ListenerRole
    /// Writes the agent's answer bytes to the client as they are, beneath NIO's response
    /// encoder (which only the proxy's own answers go through).
    let rawOut: ClientSocketWriter
    private var context: ChannelHandlerContext?
    private var exchange: Exchange?
    private var nextID = 0
    /// The connection's one answer timer, armed by the first exchange that needs it and re-armed
    /// by itself for whatever exchange is current (no timer scheduled and cancelled per request).
    private var answerTimer: Scheduled<Void>?
    /// The last request's route (`Route`).
    private var lastRoute: Route?
    /// The client's bytes, read into requests (no HTTP decoder on the forwarding path).
    private var stream = RequestStream()
    /// The last `Datadog-Agent-Version` handed to analysis from this connection's answers.
    private var lastAgentVersion: String?
    /// Writes are flushed once per read burst, not once per part (`FlushBatch`).
    private var flushes = FlushBatch<UpstreamConnection>()
    /// HTTP/1.1 pipelining: bytes of requests that arrived while the previous exchange was still
    /// waiting for its answer, read in order once it is over (as the bytes read, not parsed:
    /// a malformed one is refused in its turn, after the answers before it). (This replaces NIO's
    /// `HTTPServerPipelineHandler`, which paused and resumed reading around every exchange: two
    /// `epoll_ctl` calls per request for the pipelining tracers never do.)
    /// Whether bytes are held, and read pausing, are `ConnectionStateMachine`'s decisions.
    private var held: CircularBuffer<ByteBuffer> = []
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
        self.rawOut = ClientSocketWriter()
        self.connectionState = ConnectionStateMachine(timeouts: shared.timeouts, now: .now())
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
        // Every byte counts for the client timers (a head trickled one byte a second is timed
        // from its first byte, a body's silence from its last).
        connectionState.bytesReceived(at: .now())
        // After a refusal or a failed request nothing more from this client is trusted to start a
        // request (RFC 9112 §6.1: the connection MUST be closed): the rest is dropped unread.
        guard !closingConnection else { return }
        let bytes = unwrapInboundIn(data)
        if connectionState.requestPartArrived(bodyBytes: bytes.readableBytes, previousRequestUnanswered: previousRequestUnanswered) == .hold {
            held.append(bytes)
            updateClientReads()
            return
        }
        flushes.clientReadStarted()
        defer { flushes.clientReadEnded() }
        read(bytes, context: context)
    }

    /// Reads requests out of `bytes` until they are used up, or until a request is read in full
    /// and waits for its answer: the rest is held (in front of anything held already).
    private func read(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        var bytes = bytes
        while !closingConnection {
            if previousRequestUnanswered {
                if bytes.readableBytes > 0 {
                    _ = connectionState.requestPartArrived(bodyBytes: bytes.readableBytes, previousRequestUnanswered: true)
                    held.prepend(bytes)
                    updateClientReads()
                }
                return
            }
            switch stream.next(&bytes) {
            case .needMore:
                return
            case .head(let scanned, let headBytes):
                start(scanned, headBytes, context: context)
            case .body(let part, let data):
                guard let exchange else { continue }
                let dataBytes = data.map { $0.reduce(0) { $0 + $1.readableBytes } } ?? part.readableBytes
                exchange.requestBytes += dataBytes
                let action = exchange.machine.requestBody(part, dataBytes: dataBytes)
                if let tap = exchange.tap {
                    if let data {
                        // A chunked body is kept de-chunked: its data ranges, not its framing.
                        for kept in data { tap.keep(kept, receivedSoFar: exchange.machine.bodyBytes, allocator: context.channel.allocator) }
                    } else {
                        tap.keep(part, receivedSoFar: exchange.machine.bodyBytes, allocator: context.channel.allocator)
                    }
                }
                perform(action, exchange, body: part)
            case .end:
                guard let exchange, !exchange.machine.isClosed else { continue }
                connectionState.requestEnded()
                teeRequest(exchange)
                perform(exchange.machine.requestEnd(), exchange)
            case .refused(let refusal, let violation, let requestLine):
                refuse(refusal, violation, requestLine, context: context)
            }
        }
    }

    /// A request the proxy does not forward (`RequestStream`'s refusals, each naming its rule):
    /// answered with its status and `Connection: close`, then the connection closes (RFC 9112
    /// §6.1). A malformed chunk fails the exchange in progress as `bad_request` (counted, its
    /// half-sent request's agent connection dropped), then the 400.
    private func refuse(_ refusal: RequestFraming.Refusal, _ violation: HTTPSyntaxViolation?, _ line: RequestStream.RequestLine?,
                        context: ChannelHandlerContext) {
        if let exchange, exchange.machine.isReceivingRequest {
            let action = exchange.machine.requestFailed(.badRequest)
            answerBadRequest(context: context, detail: refusal.reason, closing: false)
            perform(action, exchange)
            connectionState.closing()
            closingConnection = true
            context.close(promise: nil)
            return
        }
        guard violation == nil, let line else {
            // The head breaks the grammar (what NIO's parser refused before the byte relay):
            // no path is known, counted under "-".
            shared.count(.badRequest, path: Self.noRequestPath, endpoint: Self.noRequestEndpoint)
            answerBadRequest(context: context, detail: refusal.reason, closing: true)
            return
        }
        // The head was read and its framing or method is refused (`RequestFraming`).
        let path = Self.originForm(of: line.target) ?? line.target
        let endpoint = Endpoint(method: line.method, uri: path)
        shared.count(refusal.outcome, path: path, endpoint: endpoint)
        connectionState.closing()
        closingConnection = true
        let detail = ErrorDetail.text(for: refusal.outcome, configuration: shared.configuration, failure: refusal.reason)
        let response = LocalResponse.error(refusal.outcome, upstream: shared.configuration.upstream, detail: detail)
        let answer = LocalAnswer(response, requestVersion: line.http11 ? .http1_1 : .http1_0, requestMethod: HTTPMethod(rawValue: line.method), close: true)
        write(answer, response, body: nil, context: context)
        shared.metrics.recordExchange(endpoint: endpoint.label, status: ExchangeStatus.http(response.status).label,
                                      requestBytes: 0, responseBytes: answer.sendsBody ? response.body.count : 0)
    }

    /// An I/O error: the connection cannot go on.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connectionState.closing()
        closingConnection = true
        context.close(promise: nil)
    }

    /// `400` with `Connection: close` for a request that breaks HTTP/1.1's grammar, then the
    /// connection closes. `closing`: close once it is written (else the caller closes).
    private func answerBadRequest(context: ChannelHandlerContext, detail reason: String, closing: Bool) {
        connectionState.closing()
        closingConnection = true
        let detail = "the request could not be parsed as HTTP/1.1: \(reason)"
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

    /// A request head was read (`headBytes`, as the client sent it).
    private func start(_ scanned: ScannedRequestHead, _ headBytes: ByteBuffer, context: ChannelHandlerContext) {
        nextID += 1
        connectionState.requestHeadReceived(at: .now())
        let route = headBytes.withUnsafeReadableBytes { self.route(scanned, $0) }
        let mode: ExchangeStateMachine.Mode
        let agentTraffic: Bool
        switch role {
        case .admin:
            mode = .local
            agentTraffic = false
        case .traffic(let servesAdmin):
            agentTraffic = !(servesAdmin && route.admin)
            mode = agentTraffic && shared.configuration.upstream != .none ? .forward : .local
        }
        let exchange = Exchange(id: nextID, route: route, headBytes: headBytes, scanned: scanned,
                                machine: ExchangeStateMachine(mode: mode, maxBodyBytes: shared.configuration.maxBodyBytes),
                                upstreamTimeout: shared.upstreamTimeout)
        exchange.isAgentTraffic = agentTraffic
        if mode == .forward {
            // The head as received unless a hop needs a change (a tracer's usual request: none).
            headBytes.withUnsafeReadableBytes { bytes in
                if !UpstreamRequestHead.isRelayedAsReceived(scanned, in: bytes) {
                    exchange.upstreamHead = UpstreamRequestHead.rewritten(scanned, in: bytes, target: route.originForm, allocator: context.channel.allocator)
                }
            }
        }
        let declared: Int?
        if case .contentLength(let length) = scanned.framing { declared = length } else { declared = nil }
        if shared.configuration.analysis, agentTraffic, route.endpoint.tee.keepsRequestBody {
            exchange.tap = AnalysisTap(queue: shared.queue, declaredLength: declared, maxBodyBytes: exchange.machine.maxBodyBytes)
        }
        if connectionState.quiescing { exchange.closeAfterResponse = true }
        self.exchange = exchange
        let action = exchange.machine.requestHead(contentLength: declared)
        if case .respondError = action {} else if scanned.flags.contains(.expectsContinue) {
            // The proxy takes the body whatever the agent would say, so it invites it at once
            // (RFC 9110 §10.1.1 lets a proxy answer 100 itself); the agent's own 100 is dropped.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: scanned.http11 ? .http1_1 : .http1_0, status: .continue))), promise: nil)
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

    /// The request's route: the last one when its request-line is the same bytes, else made
    /// (strings, endpoint family, whether the admin routes own the path) and kept.
    private func route(_ head: ScannedRequestHead, _ bytes: UnsafeRawBufferPointer) -> Route {
        let line = UnsafeRawBufferPointer(rebasing: bytes[head.method.lowerBound..<head.target.upperBound])
        if let last = lastRoute, last.key.count == line.count,
           last.key.withUnsafeBytes({ memcmp($0.baseAddress!, line.baseAddress!, line.count) == 0 }) {
            return last
        }
        func text(_ range: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        let method = text(head.method)
        let target = text(head.target)
        let origin = Self.originForm(of: target)
        let uri = origin ?? target
        let route = Route(key: Array(line), method: method, uri: uri, originForm: origin, isHEAD: method == "HEAD",
                          endpoint: Endpoint(method: method, uri: uri), admin: AdminRoutes.owns(uri: uri))
        lastRoute = route
        return route
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
                    // The head's bytes as received (a tracer's usual request), or as written
                    // again for the agent (`UpstreamRequestHead`).
                    connection.channel.write(exchange.upstreamHead, promise: nil)
                case .body(let buffer):
                    // As the client sent them (a chunked body with its chunk framing).
                    connection.channel.write(buffer, promise: nil)
                case .end:
                    break  // the body's last bytes were its end
                }
            }
            let flush = flushes.wroteUpstream(connection, endOfRequest: parts.contains(.end))
            flush.previous?.channel.flush()
            if flush.now { connection.channel.flush() }  // else in channelReadComplete
            if startTimer { startAnswerTimer(exchange) }
        case .respondLocally:
            let method = exchange.method
            if exchange.isAgentTraffic {
                writeLocal(SinkResponder.respond(method: method, uri: exchange.uri), exchange, close: false)
                finish(exchange)
                return
            }
            // Admin pages are rendered off the event loop (`AdminRenderer`); the exchange stays
            // current meanwhile, so pipelined requests wait behind it in order.
            let id = exchange.id
            shared.renderer.respond(method: method, uri: exchange.uri, on: context.eventLoop).assumeIsolated().whenSuccess { [self] answer in
                guard let current = self.exchange, current.id == id else { return }
                writeLocal(answer.response, current, close: false, body: answer.body)
                finish(current)
            }
        case .respondError(let outcome, let closeClient, let dropUpstream):
            shared.count(outcome, path: exchange.uri, endpoint: exchange.endpoint)
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
                return ClientResponseHead(upstream: upstreamHead, bytes: bytes, requestHTTP11: exchange.http11,
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
                shared.tee(.agentInfo(body: answer, receivedAt: Date()), path: exchange.uri, endpoint: exchange.endpoint)
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
            if let outcome { shared.count(outcome, path: exchange.uri, endpoint: exchange.endpoint) }
            if dropUpstream { drop(exchange) }
            if flushes.takeClient() { context.flush() }  // the part of the answer relayed so far
            connectionState.closing()
            closingConnection = true
            context.close(promise: nil)
        case .exchangeComplete:
            finish(exchange)
        case .abandon(let outcome, let dropUpstream):
            if let outcome { shared.count(outcome, path: exchange.uri, endpoint: exchange.endpoint) }
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
        connection.relay.expectAnswer(answersHead: exchange.isHEAD, collectsData: teesAnswer || !exchange.http11)
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
            shared.countNotAnalysed(path: exchange.uri, endpoint: exchange.endpoint)
            return
        case .offer(let kept, let bytes):
            (body, reserved) = (kept, bytes)
        }
        // The head's bytes and the body's buffers go as they are; the analysis thread builds the
        // `CapturedRequest`, its header strings and the contiguous body (none on the event loop).
        let forwarded = ForwardedRequest(method: exchange.method, uri: exchange.uri, head: exchange.headBytes, scanned: exchange.scanned,
                                         body: body, receivedAt: Date())
        shared.tee(.forwarded(forwarded), reserved: reserved, path: exchange.uri, endpoint: exchange.endpoint)
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

    /// Handles held parts on the next loop tick (not inside the call that ended the exchange).
    private func scheduleDrain() {
        guard !drainScheduled, let context else { return }
        drainScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            drainScheduled = false
            guard let context = self.context else { return }
            while !previousRequestUnanswered, !closingConnection, let bytes = held.popFirst() {
                connectionState.heldPartReleased(bodyBytes: bytes.readableBytes)
                read(bytes, context: context)
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
        let answer = LocalAnswer(response, requestVersion: exchange.http11 ? .http1_1 : .http1_0, requestMethod: HTTPMethod(rawValue: exchange.method),
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
