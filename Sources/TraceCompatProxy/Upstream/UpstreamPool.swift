import Foundation
import NIOCore
import NIOPosix

/// One open HTTP/1.1 connection to the agent.
final class UpstreamConnection {
    let channel: any Channel
    let relay: UpstreamRelayHandler
    var idleSince = NIODeadline.now()
    /// Exchanges served so far; above 1 the connection is a reused keep-alive one.
    var leases = 0
    var isReused: Bool { leases > 1 }

    init(channel: any Channel, relay: UpstreamRelayHandler) {
        self.channel = channel
        self.relay = relay
    }
}

/// Keep-alive connections to the agent, one idle list per event loop so that a client
/// connection and the upstream connection serving it share a thread and never hop.
///
/// Idle connections are kept for at most `idleTimeout` (4 s): the agent's receiver is a Go
/// `http.Server` whose idle timeout falls back to its read timeout (`apm_config.receiver_timeout`,
/// 5 s by default), so an older idle connection is likely closed on the other side already.
final class UpstreamPool: @unchecked Sendable {
    let target: UpstreamTarget
    let connectTimeout: TimeAmount
    let idleTimeout: TimeAmount
    let maxIdlePerLoop: Int
    private let lock = NSLock()
    /// The idle list of each event loop, a class so that taking and giving back a connection
    /// change the list in place (a dictionary `modify` of an array allocates per call).
    private final class IdleList {
        var connections: [UpstreamConnection] = []
    }
    private var idle: [ObjectIdentifier: IdleList] = [:]
    private var closing = false

    init(target: UpstreamTarget, connectTimeout: TimeAmount, idleTimeout: TimeAmount = ProxyLimits.upstreamIdle, maxIdlePerLoop: Int = ProxyLimits.upstreamIdlePerLoop) {
        self.target = target
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxIdlePerLoop = maxIdlePerLoop
    }

    /// An idle connection on `eventLoop` if one is fresh (unless `newConnection`), else a new
    /// one. Call on `eventLoop`; `completion` runs on it.
    func lease(on eventLoop: any EventLoop, newConnection: Bool = false,
               _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void) {
        eventLoop.preconditionInEventLoop()
        if !newConnection, let connection = leaseIdle(on: eventLoop) {
            completion(.success(connection))
            return
        }
        connect(on: eventLoop).assumeIsolated().whenComplete { result in
            completion(result.flatMap { channel in
                Result {
                    let connection = UpstreamConnection(channel: channel, relay: try channel.pipeline.syncOperations.handler(type: UpstreamRelayHandler.self))
                    connection.leases = 1
                    return connection
                }
            })
        }
    }

    /// A fresh idle connection on `eventLoop`, or nil: `lease` without a completion closure, for
    /// the usual case of a keep-alive connection waiting. Call on `eventLoop`.
    func leaseIdle(on eventLoop: any EventLoop) -> UpstreamConnection? {
        eventLoop.assertInEventLoop()
        guard let connection = takeIdle(on: eventLoop) else { return nil }
        connection.leases += 1
        return connection
    }

    /// Gives a connection back: kept for reuse when `reusable`, closed otherwise. Call on its loop.
    func release(_ connection: UpstreamConnection, reusable: Bool) {
        connection.relay.delegate = nil
        guard reusable, connection.channel.isActive else {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleSince = .now()
        let key = ObjectIdentifier(connection.channel.eventLoop)
        lock.lock()
        let list: IdleList
        if let existing = idle[key] { list = existing } else { list = IdleList(); idle[key] = list }
        let keep = !closing && list.connections.count < maxIdlePerLoop
        if keep { list.connections.append(connection) }
        lock.unlock()
        if !keep { connection.channel.close(promise: nil) }
    }

    /// Closes every idle connection and stops keeping new ones (shutdown).
    func closeAll() {
        lock.lock()
        closing = true
        let all = idle.values.flatMap { $0.connections }
        idle = [:]
        lock.unlock()
        for connection in all {
            connection.channel.close(promise: nil)
        }
    }

    private func takeIdle(on eventLoop: any EventLoop) -> UpstreamConnection? {
        let key = ObjectIdentifier(eventLoop)
        let oldest = NIODeadline.now() - idleTimeout
        var stale: [UpstreamConnection] = []
        lock.lock()
        var found: UpstreamConnection?
        let list = idle[key]
        while let candidate = list?.connections.popLast() {  // in place: no copy of the list
            if candidate.channel.isActive && candidate.idleSince > oldest {
                found = candidate
                break
            }
            stale.append(candidate)
        }
        lock.unlock()
        for connection in stale { connection.channel.close(promise: nil) }
        return found
    }

    private func connect(on eventLoop: any EventLoop) -> EventLoopFuture<any Channel> {
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // No HTTP codec: requests go out as the bytes the client sent (the head written
                    // again only when `UpstreamRequestHead` says so), answers come in as bytes
                    // (`UpstreamRelayHandler`).
                    try channel.pipeline.syncOperations.addHandler(UpstreamRelayHandler())
                }
            }
        switch target {
        case .http(let host, let port):
            bootstrap = bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1)
            return bootstrap.connect(host: host, port: port)
        case .unix(let path):
            return bootstrap.connect(unixDomainSocketPath: path)
        case .none:
            return eventLoop.makeFailedFuture(ChannelError.connectPending)
        }
    }
}
