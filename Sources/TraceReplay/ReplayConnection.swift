import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A request ready to write: the captured head with `Host` and `Content-Length` set, and the body.
struct PreparedRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer
    var spans: Int

    init(_ payload: ReplayPayload, target: ReplayTarget) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        for (name, value) in payload.headers { headers.add(name: name, value: value) }
        headers.add(name: "Content-Length", value: String(payload.body.readableBytes))
        head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: payload.method), uri: payload.path, headers: headers)
        body = payload.body
        spans = payload.spans
    }
}

/// One keep-alive connection of the load generator: connects, lets its handler send requests one
/// at a time until the schedule runs out, and reconnects after a failure or a `Connection: close`.
///
/// Mutable state is confined to `eventLoop`; the counters are behind a mutex so that the progress
/// line can read them from elsewhere.
final class ReplayConnection: @unchecked Sendable {
    struct Stats: Sendable {
        var counters = ReplayCounters()
        /// Microseconds from due time to the end of the answer.
        var latency = Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    }

    let eventLoop: any EventLoop
    let schedule: ReplaySchedule
    let requests: [PreparedRequest]
    let target: ReplayTarget
    let timeout: TimeAmount
    let stats = Mutex(Stats())
    let done: EventLoopPromise<Void>
    /// Set by the handler when the schedule has nothing left for it.
    var finished = false

    init(eventLoop: any EventLoop, schedule: ReplaySchedule, requests: [PreparedRequest], target: ReplayTarget, timeout: TimeAmount) {
        self.eventLoop = eventLoop
        self.schedule = schedule
        self.requests = requests
        self.target = target
        self.timeout = timeout
        self.done = eventLoop.makePromise()
        stats.withLock { $0.counters.answeredPerPayload = Array(repeating: 0, count: requests.count) }
    }

    func start() {
        eventLoop.execute { self.connect() }
    }

    private func connect() {
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ReplayClientHandler(connection: self))
                }
            }
        let connected: EventLoopFuture<any Channel>
        switch target {
        case .tcp(let host, let port):
            connected = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port)
        case .unix(let path):
            connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        connected.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                channel.closeFuture.assumeIsolated().whenComplete { _ in self.closed() }
            case .failure:
                // A connect that fails costs one request, so that a dead target ends a --count run.
                guard self.schedule.claim() != nil else { self.done.succeed(); return }
                self.stats.withLock { $0.counters.requests += 1; $0.counters.connectionErrors += 1 }
                self.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { self.connect() }
            }
        }
    }

    private func closed() {
        if finished { done.succeed() } else { connect() }
    }

    // MARK: - Counting (called by the handler on the event loop)

    func started() {
        stats.withLock { $0.counters.requests += 1 }
    }

    func sent(bytes: Int) {
        stats.withLock { $0.counters.bytesSent += bytes }
    }

    func answered(payload: Int, status: HTTPResponseStatus, bodyBytes: Int, due: NIODeadline) {
        let micros = max(0, (NIODeadline.now() - due).nanoseconds / 1_000)
        let spans = requests[payload].spans
        stats.withLock {
            $0.counters.responses += 1
            $0.counters.bytesReceived += bodyBytes
            if (200..<300).contains(status.code) {
                $0.counters.ok += 1
                $0.counters.spansAnswered += spans
                $0.counters.answeredPerPayload[payload] += 1
            } else {
                $0.counters.non2xx += 1
            }
            _ = $0.latency.record(UInt64(micros))
        }
    }

    func lost(timedOut: Bool) {
        stats.withLock {
            if timedOut { $0.counters.timeouts += 1 } else { $0.counters.connectionErrors += 1 }
        }
    }
}

/// Sends the schedule's requests on one channel, one at a time, and counts each answer.
final class ReplayClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let connection: ReplayConnection
    /// The request on the wire (or waiting for its due time): payload index and due time.
    private var current: (payload: Int, due: NIODeadline)?
    private var waiting: Scheduled<Void>?
    private var timer: Scheduled<Void>?
    private var status: HTTPResponseStatus = .ok
    private var keepAlive = true
    private var bodyBytes = 0

    init(connection: ReplayConnection) {
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context)
        context.fireChannelActive()
    }

    private func sendNext(context: ChannelHandlerContext) {
        guard let ticket = connection.schedule.claim() else {
            connection.finished = true
            context.close(promise: nil)
            return
        }
        connection.started()
        let payload = ticket.index % connection.requests.count
        let due = ticket.due ?? .now()
        current = (payload, due)
        if let d = ticket.due, d > .now() {
            waiting = context.eventLoop.assumeIsolated().scheduleTask(deadline: d) { self.send(payload, context: context) }
        } else {
            send(payload, context: context)
        }
    }

    private func send(_ payload: Int, context: ChannelHandlerContext) {
        waiting = nil
        let request = connection.requests[payload]
        status = .ok
        keepAlive = true
        bodyBytes = 0
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(request.body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        connection.sent(bytes: request.body.readableBytes)
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: connection.timeout) {
            guard self.current != nil else { return }
            self.current = nil
            self.connection.lost(timedOut: true)
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            keepAlive = head.isKeepAlive
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
        case .end:
            timer?.cancel()
            timer = nil
            guard let (payload, due) = current else { return }
            current = nil
            connection.answered(payload: payload, status: status, bodyBytes: bodyBytes, due: due)
            if keepAlive { sendNext(context: context) } else { context.close(promise: nil) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting?.cancel()
        timer?.cancel()
        if current != nil {
            current = nil
            connection.lost(timedOut: false)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
