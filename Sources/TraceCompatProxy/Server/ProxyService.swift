import CompatReport
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// `trace-compat proxy` as a swift-service-lifecycle `Service`: continues (or starts) the report,
/// serves until graceful shutdown (SIGTERM/SIGINT through the `ServiceGroup`), writing the report
/// atomically every `flushInterval`; then stops accepting, drains, and writes it a last time.
public struct ProxyService: Service {
    public let configuration: ProxyConfiguration
    public let logger: Logger
    public let metrics: ProxyMetrics

    public init(configuration: ProxyConfiguration, logger: Logger, metrics: ProxyMetrics = ProxyMetrics()) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
    }

    /// The report to record into: the one at `reportPath` continued, unless `fresh` or absent.
    public static func openStore(_ configuration: ProxyConfiguration, logger: Logger) throws -> ReportStore {
        if !configuration.fresh, let existing = try ReportFile.read(from: configuration.reportPath) {
            logger.info("continuing the report at \(configuration.reportPath) (--fresh starts over)")
            return ReportStore(continuing: existing, sampleLimit: configuration.sampleLimit, redact: configuration.redact,
                               limits: configuration.reportLimits)
        }
        return ReportStore(sampleLimit: configuration.sampleLimit, redact: configuration.redact, limits: configuration.reportLimits)
    }

    public func run() async throws {
        let store = try Self.openStore(configuration, logger: logger)
        let server = ProxyServer(configuration: configuration, store: store, metrics: metrics, logger: logger)
        try await server.start()
        logStart(server)

        let flusher = ReportFlusher(store: store, path: configuration.reportPath, logger: logger)
        let interval = Duration.nanoseconds(Int64(configuration.flushInterval * 1e9))
        // Periodic flushes until graceful shutdown; sleeping is cancelled by it.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                flusher.flush()
            }
        }
        logger.info("shutting down: no new connections, finishing exchanges in flight")
        await server.shutdown(grace: .nanoseconds(Int64((configuration.upstreamTimeout + 2) * 1e9)))
        flusher.flush()
        logger.info("report written to \(configuration.reportPath)")
    }

    private func logStart(_ server: ProxyServer) {
        let listen = server.localAddress.map(Self.describe) ?? configuration.listen.description
        let forward = configuration.upstream == .none ? "nowhere (sink mode)" : configuration.upstream.description
        let admin = server.adminAddress.map { " admin on \(Self.describe($0))," } ?? ""
        logger.info("trace-compat proxy listening on \(listen),\(admin) forwarding to \(forward), report at \(configuration.reportPath) (every \(configuration.flushInterval)s)")
        for address in [configuration.listen] + (configuration.adminListen.map { [$0] } ?? []) where !address.isLoopback {
            logger.warning("listening on \(address), which is not a loopback address: other machines can send traffic and read /compat/report")
        }
        if !configuration.analysis {
            logger.warning("ANALYSIS OFF (--no-analysis): traffic is only forwarded, the report gets no findings")
        }
        if configuration.upstream == .none {
            logger.warning("SINK MODE (--upstream none): NOTHING IS FORWARDED to an agent; traces are analysed and dropped")
        }
    }

    static func describe(_ address: SocketAddress) -> String {
        if let path = address.pathname { return "unix://\(path)" }
        let host = address.ipAddress ?? "?"
        let port = address.port.map(String.init) ?? "?"
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// Writes snapshots of the report atomically (temp file + rename, by `ReportFile.write`).
struct ReportFlusher: Sendable {
    let store: ReportStore
    let path: String
    let logger: Logger

    func flush() {
        do {
            try ReportFile.write(store.snapshot(), to: path)
        } catch {
            logger.error("could not write the report to \(path): \(error)")
        }
    }
}
