import CompatReport
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening side: binds the traffic listener (and the admin one, when configured), tracks
/// client connections, and shuts down gracefully (stop accepting, let exchanges in flight end,
/// close idle keep-alive connections, then drain analysis).
public final class ProxyServer: Sendable {
    public let configuration: ProxyConfiguration
    public let store: ReportStore
    public let metrics: ProxyMetrics
    let shared: ProxyShared
    let group: any EventLoopGroup
    private let state = ServerState()

    public init(configuration: ProxyConfiguration, store: ReportStore, metrics: ProxyMetrics = ProxyMetrics(),
                logger: Logger = Logger(label: "trace-compat.proxy"), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                analysisConsumers: AnalysisQueue.Consumers = .analyzers) {
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.group = group
        self.shared = ProxyShared(configuration: configuration, store: store, metrics: metrics, logger: logger, consumers: analysisConsumers)
    }

    /// The address the traffic listener is bound to (after `start`), e.g. to learn port 0's port.
    public var localAddress: SocketAddress? { state.listeners.first?.localAddress }
    /// The admin listener's address, when `adminListen` is set.
    public var adminAddress: SocketAddress? { state.listeners.count > 1 ? state.listeners[1].localAddress : nil }

    /// Payloads waiting for analysis.
    public var analysisQueueDepth: Int { shared.queue.depth }
    /// Body bytes held for analysis against `queue_max_bytes` (queued or still being received).
    public var analysisHeldBytes: Int { shared.queue.heldBytes }

    /// Waits until every payload handed to analysis so far has been analysed (tests).
    public func waitForAnalysis() { shared.queue.waitUntilIdle() }

    /// Binds the listeners. Throws when an address cannot be bound.
    public func start() async throws {
        let traffic = try await bind(configuration.listen, role: .traffic(servesAdmin: configuration.adminListen == nil))
        state.add(listener: traffic)
        if let adminListen = configuration.adminListen {
            state.add(listener: try await bind(adminListen, role: .admin))
        }
    }

    /// Stops accepting, asks every connection to finish its exchange and close (idle ones close
    /// at once), waits up to `grace` for them, closes what is left, then drains analysis.
    public func shutdown(grace: TimeAmount = ProxyLimits.shutdownGrace) async {
        for listener in state.listeners {
            try? await listener.close()
        }
        let children = state.children()
        for child in children {
            child.eventLoop.execute { child.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
        }
        let deadline = NIODeadline.now() + grace
        for child in children {
            let remaining = deadline - .now()
            if remaining > .zero {
                let closed = child.closeFuture
                let timer = child.eventLoop.scheduleTask(in: remaining) { child.close(promise: nil) }
                try? await closed.get()
                timer.cancel()
            } else {
                try? await child.close()
            }
        }
        shared.pool.closeAll()
        shared.renderer.shutdown()
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread { [shared] in
                shared.queue.drain()
                done.resume()
            }
        }
    }

    private func bind(_ address: ListenAddress, role: ListenerRole) async throws -> any Channel {
        let shared = self.shared
        let state = self.state
        let listener = address.description
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: ProxyLimits.listenBacklog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptBackoff(logger: shared.logger, listener: listener))
                }
            }
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No HTTP decoder: ProxyServerHandler reads the client's bytes itself
                    // (`RequestStream`) and forwards them as read; it serialises pipelined
                    // requests and answers a request it refuses (400 / 405 / 501) itself. NIO's
                    // response encoder only carries the proxy's own answers (`LocalAnswer`):
                    // the agent's answers are relayed as bytes beneath it (`ClientSocketWriter`).
                    // Not `configureHTTPServerPipeline`: its decoder feeds the encoder the method
                    // of every request, which only an answer through the encoder takes back, so
                    // that queue would grow for the connection's life. The encoder here frames by
                    // status alone and `LocalAnswer` leaves the body out for HEAD. No outbound
                    // header validation: the proxy's own answers carry fixed headers only.
                    try channel.pipeline.syncOperations.addHandler(HTTPResponseEncoder())
                    let handler = ProxyServerHandler(shared: shared, role: role)
                    try channel.pipeline.syncOperations.addHandler(handler.rawOut, position: .first)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    state.track(channel)
                }
            }
        switch address {
        case .tcp(let host, let port):
            bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            return try await bootstrap.bind(host: host, port: port).get()
        case .unix(let path):
            let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
            // The socket file is created with the umask's mode (often 0755: only the owner may
            // connect); `socket_mode` (default 0722, as the agent's apm socket) lets applications
            // running as other users connect.
            guard chmod(path, mode_t(configuration.socketMode)) == 0 else {
                let code = errno
                try? await channel.close()
                throw ProxyConfigurationError.invalid(key: "socket_mode", value: String(configuration.socketMode, radix: 8),
                                                      reason: "chmod \(path): \(String(cString: strerror(code)))")
            }
            return channel
        }
    }
}

/// Listeners and open client connections, shared between event loops.
final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private var _listeners: [any Channel] = []
    private var open: [ObjectIdentifier: any Channel] = [:]

    var listeners: [any Channel] {
        lock.lock(); defer { lock.unlock() }
        return _listeners
    }

    func add(listener: any Channel) {
        lock.lock(); defer { lock.unlock() }
        _listeners.append(listener)
    }

    func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        lock.lock()
        open[key] = channel
        lock.unlock()
        channel.closeFuture.whenComplete { [self] _ in
            lock.lock()
            open[key] = nil
            lock.unlock()
        }
    }

    func children() -> [any Channel] {
        lock.lock(); defer { lock.unlock() }
        return Array(open.values)
    }
}
