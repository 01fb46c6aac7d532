import CompatReport
import Foundation
import Logging
import NIOCore
import NIOPosix
import TraceCompatProxy

/// A proxy in this process on an ephemeral loopback port, optionally in front of a
/// `RecordingUpstream`, with its own report store.
struct ProxyHarness {
    let proxy: ProxyServer
    let upstream: RecordingUpstream?
    let store: ReportStore

    var address: SocketAddress { proxy.localAddress! }

    static func start(upstream behaviour: RecordingUpstream.Behaviour? = .agent,
                      configure: (inout ProxyConfiguration) -> Void = { _ in }) async throws -> ProxyHarness {
        var upstream: RecordingUpstream?
        var configuration = ProxyConfiguration(listen: .tcp(host: "127.0.0.1", port: 0), upstream: .none,
                                               reportPath: "/nonexistent/unused.json", analysisThreads: 1)
        if let behaviour {
            let recording = RecordingUpstream(behaviour: behaviour)
            try await recording.start()
            configuration.upstream = .http(host: "127.0.0.1", port: recording.port)
            upstream = recording
        }
        configure(&configuration)
        let store = ReportStore()
        var logger = Logger(label: "test.proxy")
        logger.logLevel = .warning
        let proxy = ProxyServer(configuration: configuration, store: store, logger: logger)
        try await proxy.start()
        return ProxyHarness(proxy: proxy, upstream: upstream, store: store)
    }

    /// The report once every payload handed to analysis has been analysed.
    func report() -> Report {
        proxy.waitForAnalysis()
        return store.snapshot()
    }

    func stop() async {
        await proxy.shutdown(grace: .seconds(2))
        await upstream?.stop()
    }
}

/// A loopback port nothing listens on: bound once by a server channel, then closed again.
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}
