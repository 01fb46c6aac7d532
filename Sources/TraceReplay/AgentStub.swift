import AgentImitation
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// What the stub received, read with `GET /stub/stats` (not itself counted).
public struct StubStats: Codable, Sendable, Equatable {
    /// Requests and request-body bytes received, all paths together.
    public var requests = 0
    public var bytes = 0
    /// Requests per path (at most `AgentStub.maxPaths` distinct paths; the rest under "other").
    public var paths: [String: Int] = [:]
    /// With `--record-sha`: how many bodies of each SHA-256 arrived.
    public var bodies: [String: Int]?

    public init() {}
}

/// An upstream that answers like the Datadog Agent at near zero cost, so that a benchmark measures
/// what sits in front of it: `AgentImitation`'s answers (the same as the proxy's sink mode:
/// `{"rate_by_service":{}}` with `Datadog-Agent-Version` on trace endpoints, the `/info`
/// document…), prepared once. It reads every body (counting bytes, hashing them with `recordSHA`).
public final class AgentStub: Sendable {
    static let maxPaths = 1_000

    /// Where it listens; for `tcp` port 0, the port the system chose.
    public let address: ReplayTarget
    let channel: any Channel
    let group: MultiThreadedEventLoopGroup
    let state: StubState

    private init(address: ReplayTarget, channel: any Channel, group: MultiThreadedEventLoopGroup, state: StubState) {
        self.address = address
        self.channel = channel
        self.group = group
        self.state = state
    }

    /// Binds and starts answering. `threads` defaults to one per core.
    public static func start(listen: ReplayTarget, recordSHA: Bool = false, threads: Int = System.coreCount) async throws -> AgentStub {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads))
        let state = StubState(recordSHA: recordSHA)
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AgentStubHandler(state: state))
                }
            }
        let channel: any Channel
        let address: ReplayTarget
        do {
            switch listen {
            case .tcp(let host, let port):
                bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                channel = try await bootstrap.bind(host: host, port: port).get()
                address = .tcp(host: host, port: channel.localAddress?.port ?? port)
            case .unix(let path):
                channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
                address = listen
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        return AgentStub(address: address, channel: channel, group: group, state: state)
    }

    /// What it received so far.
    public var stats: StubStats { state.stats.withLock { $0 } }

    /// Stops listening, closes connections and the event loops.
    public func close() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// Resolves when the listener closes.
    public var closed: EventLoopFuture<Void> { channel.closeFuture }
}

/// The stub's counters, shared by reference between the stub and its connection handlers.
final class StubState: Sendable {
    let stats: Mutex<StubStats>
    let recordSHA: Bool
    let imitation = AgentImitation(gitCommit: "trace-replay-stub")
    /// The imitation's answers to its own endpoints and `/info`, built once (other paths are
    /// answered as they come: a 404 costs an allocation, which only a wrong target pays).
    let prepared: [String: AgentStubHandler.Prepared]

    init(recordSHA: Bool) {
        var initial = StubStats()
        if recordSHA { initial.bodies = [:] }
        stats = Mutex(initial)
        self.recordSHA = recordSHA
        var prepared: [String: AgentStubHandler.Prepared] = [:]
        for path in AgentImitation.endpoints + ["/info"] {
            prepared[path] = AgentStubHandler.Prepared(imitation.answer(method: "GET", path: path))
        }
        self.prepared = prepared
    }

    func received(path: String, bytes: Int, sha256: String?) {
        stats.withLock {
            $0.requests += 1
            $0.bytes += bytes
            let key = $0.paths[path] != nil || $0.paths.count < AgentStub.maxPaths ? path : "other"
            $0.paths[key, default: 0] += 1
            if let sha256 { $0.bodies?[sha256, default: 0] += 1 }
        }
    }
}
