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
        let head: HTTPRequestHead
        let endpoint: Endpoint
        var machine: ExchangeStateMachine
        var connection: UpstreamConnection?
        var sentAt: NIODeadline?
        /// When the last part of the answer arrived: once set, the answer timer measures silence.
        var answerActivity: NIODeadline?
        var responseHead: HTTPResponseHead?
        var status = "aborted"
        var requestBytes = 0
        var responseBytes = 0
        /// Request body kept for analysis (only for analysed endpoints): NIO's buffers, not a copy.
        var teeBody: TeeBody?
        /// Bytes of `teeBody` counted against `queue_max_bytes` (`AnalysisQueue.reserve`);
        /// given back if the exchange ends without handing the body to the queue.
        var teeReserved = 0
        /// The body was not kept because it did not fit in `queue_max_bytes`: counted
        /// `not_analysed` when the request ends.
        var teeRefused = false
        var teeQueue: AnalysisQueue?
        /// Answer body kept for analysis (`GET /info`).
        var teeAnswer: [UInt8]?
        var closeAfterResponse: Bool
        /// False for the proxy's own admin routes (not the application's traffic).
        var isAgentTraffic = true
        var failureDetail: String?
        var recorded = false

        init(id: Int, head: HTTPRequestHead, endpoint: Endpoint, machine: ExchangeStateMachine) {
            self.id = id
            self.head = head
            self.endpoint = endpoint
            self.machine = machine
            self.closeAfterResponse = !head.isKeepAlive
        }

        deinit { teeQueue?.release(teeReserved) }

        /// Keeps `body` for analysis if its bytes fit in `queue_max_bytes`; else drops what was
        /// kept (forwarding is not affected either way).
        func keep(_ body: ByteBuffer, allocator: ByteBufferAllocator) {
            guard teeBody != nil, let queue = teeQueue else { return }
            let needed = teeBody!.count + body.readableBytes
            if needed > teeReserved {
                guard queue.reserve(needed - teeReserved) else { return refuseTee() }
                teeReserved = needed
            }
            teeBody!.append(body, allocator: allocator)
        }

        /// Stops keeping the body (over `max_body_bytes`: not analysed, not counted).
        func dropTee() {
            teeBody = nil
            teeQueue?.release(teeReserved)
            teeReserved = 0
        }

        /// Stops keeping the body because it does not fit: counted `not_analysed` at the end.
        func refuseTee() {
            dropTee()
            teeRefused = true
        }
    }

    private let shared: ProxyShared
    private let role: ListenerRole
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
    /// Writes are flushed once per read batch, not once per part (one write syscall for a small
    /// exchange instead of three on each side): true while a client read is being handled.
    private var insideClientRead = false
    /// The upstream channel holding request parts written during this client read batch.
    private var upstreamAwaitingFlush: (any Channel)?
    /// Answer parts written to the client since the last flush (flushed at the end of the
    /// agent's read batch, or with the answer's end).
    private var clientAwaitingFlush = false
    /// HTTP/1.1 pipelining: parts of requests that arrived while the previous exchange was still
    /// waiting for its answer, handled in order once it is over. (This replaces NIO's
    /// `HTTPServerPipelineHandler`, which paused and resumed reading around every exchange: two
    /// `epoll_ctl` calls per request for the pipelining tracers never do.)
    private var held: CircularBuffer<HTTPServerRequestPart> = []
    private var heldBytes = 0
    /// Reading from the client stops while this much is held (and while the agent's connection
    /// cannot take more).
    static let heldBytesLimit = 1 << 20
    static let heldPartsLimit = 4096
    private var upstreamWritable = true
    private var clientReading = true
    private var drainScheduled = false
    /// The proxy is shutting down: close once the exchange in progress is answered.
    private var quiescing = false

    init(shared: ProxyShared, role: ListenerRole) {
        self.shared = shared
        self.role = role
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: client events

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if !held.isEmpty || previousRequestUnanswered {
            hold(part)
            return
        }
        insideClientRead = true
        defer { insideClientRead = false }
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
            if exchange.teeBody != nil {
                if exchange.machine.bodyBytes <= exchange.machine.maxBodyBytes {
                    exchange.keep(body, allocator: context.channel.allocator)
                } else {
                    exchange.dropTee()
                }
            }
            perform(action, exchange, body: body)
        case .end:
            guard let exchange else { return }
            teeRequest(exchange)
            perform(exchange.machine.requestEnd(), exchange)
        }
    }

    /// A request NIO could not parse (already answered `400` with `Connection: close` by
    /// `HTTPServerProtocolErrorHandler`) or an I/O error: the connection cannot go on.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Graceful shutdown (`ProxyServer.shutdown`): an idle connection closes at once, a busy one
    /// after its answer (with `Connection: close` when the answer has not started).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        quiescing = true
        if let exchange {
            exchange.closeAfterResponse = true
        } else if held.isEmpty {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushUpstream()
        context.fireChannelReadComplete()
    }

    private func flushUpstream() {
        if let channel = upstreamAwaitingFlush {
            upstreamAwaitingFlush = nil
            channel.flush()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        answerTimer?.cancel()
        answerTimer = nil
        held.removeAll()  // pipelined requests of a client that left are not sent on its behalf
        heldBytes = 0
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

    private func start(_ head: HTTPRequestHead) {
        nextID += 1
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
                                machine: ExchangeStateMachine(mode: mode, maxBodyBytes: shared.configuration.maxBodyBytes))
        exchange.isAgentTraffic = agentTraffic
        let declared = head.headers.first(name: "content-length").flatMap(Int.init)
        if shared.configuration.analysis, agentTraffic, endpoint.tee.keepsRequestBody {
            exchange.teeQueue = shared.queue
            if let length = declared, length > 0, length <= exchange.machine.maxBodyBytes {
                // The whole declared body is counted against queue_max_bytes up front, so that a
                // body that cannot fit is refused before any of it is kept.
                if shared.queue.reserve(length) {
                    exchange.teeReserved = length
                    exchange.teeBody = TeeBody()
                } else {
                    exchange.teeRefused = true
                }
            } else {
                exchange.teeBody = TeeBody()
            }
        }
        if quiescing { exchange.closeAfterResponse = true }
        self.exchange = exchange
        let action = exchange.machine.requestHead(contentLength: declared)
        if case .respondError = action {} else if head.headers["expect"].contains(where: { $0.lowercased() == "100-continue" }), let context {
            // The proxy takes the body whatever the agent would say, so it invites it at once
            // (RFC 9110 §10.1.1 lets a proxy answer 100 itself); the agent's own 100 is dropped.
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))), promise: nil)
        }
        perform(action, exchange)
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
            let id = exchange.id
            shared.pool.lease(on: context.eventLoop, newConnection: action == .reconnectUpstream) { [self] result in
                guard let current = self.exchange, current.id == id else {
                    if case .success(let connection) = result { shared.pool.release(connection, reusable: true) }
                    return
                }
                switch result {
                case .success(let connection):
                    upstreamLeased(connection, current)
                case .failure(let error):
                    current.status = "error"
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
                    var head = HTTPRequestHead(version: .http1_1, method: exchange.head.method, uri: exchange.head.uri)
                    head.headers = HopByHopHeaders.forwarded(exchange.head.headers, isChunked: HopByHopHeaders.isChunked(exchange.head.headers))
                    connection.channel.write(HTTPClientRequestPart.head(head), promise: nil)
                case .body(let buffer):
                    connection.channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
                case .end:
                    connection.channel.write(HTTPClientRequestPart.end(nil), promise: nil)
                }
            }
            if let waiting = upstreamAwaitingFlush, waiting !== connection.channel { flushUpstream() }
            if insideClientRead && !parts.contains(.end) {
                upstreamAwaitingFlush = connection.channel  // flushed in channelReadComplete
            } else {
                upstreamAwaitingFlush = nil
                connection.channel.flush()
            }
            if startTimer { startAnswerTimer(exchange) }
        case .respondLocally:
            let method = exchange.head.method.rawValue
            let response = exchange.isAgentTraffic
                ? SinkResponder.respond(method: method, uri: exchange.head.uri)
                : shared.admin.respond(method: method, uri: exchange.head.uri)
            writeLocal(response, exchange, close: false)
            finish(exchange)
        case .respondError(let outcome, let closeClient, let dropUpstream):
            shared.count(outcome, path: exchange.head.uri, endpoint: exchange.endpoint)
            if dropUpstream { drop(exchange) }
            let response = LocalResponse.error(outcome, upstream: shared.configuration.upstream, detail: detail(for: outcome, exchange))
            writeLocal(response, exchange, close: closeClient)
            if closeClient { finish(exchange, keepExchange: true) } else if exchange.machine.isComplete { finish(exchange) }
        case .relayHead:
            guard let upstreamHead = exchange.responseHead else { return }
            let now = NIODeadline.now()
            exchange.answerActivity = now  // the timer keeps running, as a silence timer
            if let sentAt = exchange.sentAt {
                shared.metrics.recordUpstreamLatency(endpoint: exchange.endpoint.label, nanoseconds: (now - sentAt).nanoseconds)
            }
            exchange.status = String(upstreamHead.status.code)
            if shared.configuration.analysis, exchange.endpoint.tee == .agentInfo, exchange.isAgentTraffic, upstreamHead.status == .ok { exchange.teeAnswer = [] }
            // The agent's version on every answer (V4-AGENT): handed over once per connection and version.
            if shared.configuration.analysis, let version = upstreamHead.headers.first(name: "Datadog-Agent-Version"), version != lastAgentVersion {
                lastAgentVersion = version
                _ = shared.queue.offer(.agentVersion(version, receivedAt: Date()))
            }
            context.write(wrapOutboundOut(.head(clientHead(for: upstreamHead, exchange))), promise: nil)
            clientAwaitingFlush = true
        case .relayBody:
            guard let body else { return }
            exchange.answerActivity = .now()
            exchange.responseBytes += body.readableBytes
            if exchange.teeAnswer != nil { exchange.teeAnswer!.append(contentsOf: body.readableBytesView) }
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            clientAwaitingFlush = true
        case .relayEnd(let reuseUpstream, let exchangeComplete):
            if let connection = exchange.connection {
                exchange.connection = nil
                shared.pool.release(connection, reusable: reuseUpstream)
            }
            if let answer = exchange.teeAnswer {
                shared.tee(.agentInfo(body: answer, receivedAt: Date()), path: exchange.head.uri, endpoint: exchange.endpoint)
                exchange.teeAnswer = nil
            }
            let close = exchange.closeAfterResponse
            clientAwaitingFlush = false
            let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
            if close { written.assumeIsolated().whenComplete { _ in context.close(promise: nil) } }
            if exchangeComplete { finish(exchange) }
        case .closeClient(let outcome, let dropUpstream):
            if let outcome { shared.count(outcome, path: exchange.head.uri, endpoint: exchange.endpoint) }
            if dropUpstream { drop(exchange) }
            if clientAwaitingFlush { clientAwaitingFlush = false; context.flush() }  // the part of the answer relayed so far
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

    private func detail(for outcome: ProxyOutcome, _ exchange: Exchange) -> String {
        switch outcome {
        case .upstreamUnreachable:
            return "the agent at \(shared.configuration.upstream) refused or dropped the connection" + (exchange.failureDetail.map { ": \($0)" } ?? "")
        case .upstreamTimeout:
            return "the agent at \(shared.configuration.upstream) did not answer within \(shared.configuration.upstreamTimeout)s (upstream_timeout)"
        case .payloadTooLarge:
            return "request body larger than max_body_bytes=\(shared.configuration.maxBodyBytes) (the agent's apm_config.max_payload_size)"
        case .upstreamReset, .clientAborted:
            return outcome.rawValue
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
        if let context, !context.channel.isWritable {
            connection.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
        perform(action, exchange)
    }

    private func startAnswerTimer(_ exchange: Exchange) {
        exchange.sentAt = .now()
        if answerTimer == nil { armAnswerTimer(in: shared.upstreamTimeout) }
    }

    /// Before the status line, `upstream_timeout` after the last request byte (then 504); once
    /// the answer streams, `upstream_timeout` without a byte (then the client connection is
    /// closed). Exchanges and answer parts only note times; when the timer fires it looks at the
    /// current exchange and re-arms itself for what is left, or times the exchange out. A fire
    /// for an exchange that has ended is a no-op (`ExchangeStateMachine.timeout()`).
    private func armAnswerTimer(in delay: TimeAmount) {
        guard let context else { return }
        answerTimer = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            answerTimer = nil
            guard let current = self.exchange, let sentAt = current.sentAt else { return }
            let quiet = NIODeadline.now() - (current.answerActivity ?? sentAt)
            if quiet < shared.upstreamTimeout { return armAnswerTimer(in: shared.upstreamTimeout - quiet) }
            let action = current.machine.timeout()
            if case .respondError = action { current.status = "504" }
            perform(action, current)
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
        if exchange.teeRefused {
            shared.countNotAnalysed(path: exchange.head.uri, endpoint: exchange.endpoint)
            return
        }
        // The head and NIO's body buffers go as they are; the analysis thread builds the
        // `CapturedRequest` and the contiguous body (no copy of the body on the event loop).
        let forwarded = ForwardedRequest(head: exchange.head, body: exchange.teeBody ?? TeeBody(), receivedAt: Date())
        exchange.teeBody = nil
        let reserved = exchange.teeReserved
        exchange.teeReserved = 0
        shared.tee(.forwarded(forwarded), reserved: reserved, path: exchange.head.uri, endpoint: exchange.endpoint)
    }

    private func finish(_ exchange: Exchange, keepExchange: Bool = false) {
        record(exchange)
        if !keepExchange, self.exchange === exchange {
            self.exchange = nil
            if !held.isEmpty { scheduleDrain() }
        }
    }

    // MARK: pipelining

    /// The current exchange has its whole request and waits for (or writes) its answer: a new
    /// request part belongs to the next request and waits in `held`.
    private var previousRequestUnanswered: Bool {
        guard let exchange else { return false }
        return !exchange.machine.isReceivingRequest
    }

    private func hold(_ part: HTTPServerRequestPart) {
        if case .body(let body) = part { heldBytes += body.readableBytes }
        held.append(part)
        updateClientReads()
    }

    /// Handles held parts on the next loop tick (not inside the call that ended the exchange).
    private func scheduleDrain() {
        guard !drainScheduled, let context else { return }
        drainScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            drainScheduled = false
            guard let context = self.context else { return }
            while !previousRequestUnanswered, let part = held.popFirst() {
                if case .body(let body) = part { heldBytes -= body.readableBytes }
                handle(part, context: context)
            }
            flushUpstream()
            updateClientReads()
        }
    }

    /// Reads from the client while the agent's connection can take more and little is held.
    private func updateClientReads() {
        guard let context else { return }
        let wanted = upstreamWritable && heldBytes < Self.heldBytesLimit && held.count < Self.heldPartsLimit
        guard wanted != clientReading else { return }
        clientReading = wanted
        context.channel.setOption(ChannelOptions.autoRead, value: wanted).whenFailure { _ in }
    }

    private func record(_ exchange: Exchange) {
        guard !exchange.recorded else { return }
        exchange.recorded = true
        shared.metrics.recordExchange(endpoint: exchange.endpoint.label, status: exchange.status,
                                      requestBytes: exchange.requestBytes, responseBytes: exchange.responseBytes)
    }

    private func writeLocal(_ response: LocalResponse, _ exchange: Exchange, close: Bool) {
        guard let context else { return }
        exchange.status = String(response.status)
        var head = HTTPResponseHead(version: exchange.head.version, status: HTTPResponseStatus(statusCode: response.status))
        head.headers.add(name: "content-type", value: response.contentType)
        head.headers.add(name: "content-length", value: String(response.body.count))
        if close || exchange.closeAfterResponse { head.headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if exchange.head.method != .HEAD {
            exchange.responseBytes += response.body.count
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close || exchange.closeAfterResponse {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }

    /// The agent's status line and headers for the client: hop-by-hop headers removed, framing
    /// re-declared for this hop (RFC 9112 §6.3).
    private func clientHead(for upstream: HTTPResponseHead, _ exchange: Exchange) -> HTTPResponseHead {
        var head = HTTPResponseHead(version: exchange.head.version, status: upstream.status)
        head.headers = HopByHopHeaders.removing(from: upstream.headers)
        let bodyless = exchange.head.method == .HEAD || upstream.status.code < 200 || upstream.status.code == 204 || upstream.status.code == 304
        if !bodyless && !head.headers.contains(name: "content-length") {
            if exchange.head.version.major == 1 && exchange.head.version.minor >= 1 {
                head.headers.add(name: "transfer-encoding", value: "chunked")
            } else {
                exchange.closeAfterResponse = true  // HTTP/1.0: the end of the body is the close
            }
        }
        if exchange.closeAfterResponse { head.headers.replaceOrAdd(name: "connection", value: "close") }
        return head
    }
}

extension ProxyServerHandler: UpstreamResponseDelegate {
    func upstreamResponseHead(_ head: HTTPResponseHead) {
        guard let exchange else { return }
        exchange.responseHead = head
        perform(exchange.machine.upstreamResponseHead(), exchange)
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
        if clientAwaitingFlush {
            clientAwaitingFlush = false
            context?.flush()
        }
    }

    func upstreamClosed() {
        guard let exchange else { return }
        exchange.connection = nil
        if exchange.status == "aborted" { exchange.status = "error" }
        perform(exchange.machine.upstreamClosed(), exchange)
    }

    func upstreamWritabilityChanged(isWritable: Bool) {
        upstreamWritable = isWritable
        updateClientReads()
    }
}
