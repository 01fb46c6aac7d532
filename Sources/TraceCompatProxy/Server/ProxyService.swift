import CompatReport
import Foundation
import Logging
import Metrics
import NIOCore
import ServiceLifecycle

/// `trace-compat proxy` as a swift-service-lifecycle `Service`: continues (or starts) the report,
/// serves until graceful shutdown (SIGTERM/SIGINT through the `ServiceGroup`), writing the report
/// atomically every `flushInterval`; then stops accepting, drains, and writes it a last time.
public struct ProxyService: Service {
    public let configuration: ProxyConfiguration
    public let logger: Logger
    public let metrics: ProxyMetrics
    /// What the analysis threads do with a payload: `Analyzer`s (the product), or a benchmark's
    /// stand-in (`AnalysisQueueConsumer`).
    public let analysisConsumers: AnalysisQueue.Consumers

    public init(configuration: ProxyConfiguration, logger: Logger, metrics: ProxyMetrics = ProxyMetrics(),
                analysisConsumers: AnalysisQueue.Consumers = .analyzers) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.analysisConsumers = analysisConsumers
    }

    /// How a process runs the proxy until SIGTERM/SIGINT: malloc tuned (`MallocTuning`, unless
    /// `environment` tunes it), the metrics system bootstrapped with the proxy's `ProxyMetrics`,
    /// then one `ProxyService` in a `ServiceGroup`. `trace-compat proxy` and Benchmarks'
    /// `trace-compat-msgpackc` both start this way, so the baseline runs in the same seat.
    public static func runUntilSignalled(configuration: ProxyConfiguration, logger: Logger, environment: [String: String],
                                         analysisConsumers: AnalysisQueue.Consumers = .analyzers) async throws {
        MallocTuning.apply(environment: environment)
        let metrics = ProxyMetrics()
        MetricsSystem.bootstrap(metrics.metricsFactory)
        let service = ProxyService(configuration: configuration, logger: logger, metrics: metrics, analysisConsumers: analysisConsumers)
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    /// The report to record into: the one at `reportPath` continued, unless `fresh` or absent.
    ///
    /// A file there that is not a report (empty, truncated by a crash or a full disk, another
    /// program's JSON) never stops the proxy: applications pointed at it would lose their
    /// traces. It is moved aside to `<report>.damaged-<UTC time>`, named in one log line, and a
    /// new report starts.
    public static func openStore(_ configuration: ProxyConfiguration, logger: Logger, now: Date = Date()) -> ReportStore {
        let path = configuration.reportPath
        if !configuration.fresh {
            do {
                if let existing = try ReportFile.read(from: path) {
                    logger.info("continuing the report at \(path) (--fresh starts over)")
                    return ReportStore(continuing: existing, sampleLimit: configuration.sampleLimit, redact: configuration.redact,
                                           limits: configuration.reportLimits)
                }
            } catch {
                let aside = damagedName(for: path, at: now)
                if rename(path, aside) == 0 {
                    logger.error("the report at \(path) is damaged (\(error)): moved it to \(aside) and started a new report (use --fresh to start over without keeping it)")
                } else {
                    let code = errno
                    logger.error("the report at \(path) is damaged (\(error)) and could not be moved aside (\(String(cString: strerror(code)))): starting a new report that will replace it (use --fresh to start over without keeping it)")
                }
            }
        }
        return ReportStore(sampleLimit: configuration.sampleLimit, redact: configuration.redact, limits: configuration.reportLimits)
    }

    /// `<path>.damaged-<yyyyMMdd'T'HHmmss'Z'>`: where a damaged report is moved.
    static func damagedName(for path: String, at date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return "\(path).damaged-\(formatter.string(from: date))"
    }

    public func run() async throws {
        let store = Self.openStore(configuration, logger: logger)
        let server = ProxyServer(configuration: configuration, store: store, metrics: metrics, logger: logger, analysisConsumers: analysisConsumers)
        try await server.start()
        store.setProvenance(Report.Provenance(command: "proxy", listen: server.localAddress.map(Self.describe) ?? configuration.listen.description))
        logStart(server)

        let flusher = ReportFlusher(store: store, path: configuration.reportPath, interval: configuration.flushInterval, logger: logger)
        let interval = Duration.nanoseconds(Int64(configuration.flushInterval * 1e9))
        // Periodic flushes until graceful shutdown; sleeping is cancelled by it.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                flusher.flush()
            }
        }
        logger.info("shutting down: no new connections, finishing exchanges in flight")
        await server.shutdown(grace: .nanoseconds(Int64((configuration.upstreamTimeout + ProxyLimits.shutdownGraceBeyondUpstreamTimeout) * 1e9)))
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
/// A failed write (EMFILE at the fd limit, a full disk) loses nothing: the store keeps
/// everything and the next interval writes it all again.
struct ReportFlusher: Sendable {
    let store: ReportStore
    let path: String
    let interval: Double
    let logger: Logger

    func flush() {
        do {
            try ReportFile.write(store.snapshot(), to: path)
        } catch {
            logger.error("could not write the report to \(path): \(error); nothing is lost, retrying in \(interval)s")
        }
    }
}
