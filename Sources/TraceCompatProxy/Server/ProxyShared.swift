import CompatReport
import Logging
import NIOCore

/// What every client connection of one proxy shares: configuration, the upstream pool, the
/// analysis queue, the report and the metrics. All of it is thread-safe.
final class ProxyShared: Sendable {
    let configuration: ProxyConfiguration
    let pool: UpstreamPool
    let queue: AnalysisQueue
    let store: ReportStore
    let metrics: ProxyMetrics
    let admin: AdminRoutes
    let renderer: AdminRenderer
    let logger: Logger

    /// `consumers`: what the analysis threads do with a payload (`AnalysisQueueConsumer`).
    init(configuration: ProxyConfiguration, store: ReportStore, metrics: ProxyMetrics, logger: Logger,
         consumers: AnalysisQueue.Consumers = .analyzers) {
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.logger = logger
        self.queue = AnalysisQueue(capacity: configuration.queueCapacity, maxBytes: configuration.queueMaxBytes, threads: configuration.analysisThreads,
                                   priority: configuration.analysisPriority, store: store, consumers: consumers)
        self.admin = AdminRoutes(store: store, metrics: metrics, queue: queue, upstream: configuration.upstream)
        self.renderer = AdminRenderer(routes: admin, priority: configuration.analysisPriority)
        self.pool = UpstreamPool(target: configuration.upstream, connectTimeout: .fromSeconds(configuration.upstreamTimeout))
        self.timeouts = ConnectionStateMachine.Timeouts(header: .fromSeconds(configuration.headerTimeout), body: .fromSeconds(configuration.bodyTimeout),
                                                        idle: .fromSeconds(configuration.idleTimeout))
    }

    var upstreamTimeout: TimeAmount { .fromSeconds(configuration.upstreamTimeout) }
    /// The client timers (`header_timeout`, `body_timeout`, `idle_timeout`).
    let timeouts: ConnectionStateMachine.Timeouts

    /// Counts an outcome in the report (by request path, which the store normalises) and in the
    /// metrics (by endpoint family, to keep label cardinality bounded).
    func count(_ outcome: ProxyOutcome, path: String, endpoint: Endpoint) {
        store.countProxyError(outcome.rawValue, endpoint: path)
        metrics.recordProxyError(outcome)
    }

    /// Hands work to analysis without waiting; a full queue is counted as `not_analysed`.
    /// With `analysis: false` nothing is handed over (and nothing is counted).
    func tee(_ work: AnalysisQueue.Work, path: String, endpoint: Endpoint) {
        guard configuration.analysis else { return }
        if !queue.offer(work) { countNotAnalysed(path: path, endpoint: endpoint) }
    }

    /// Like `tee(_:path:endpoint:)` for a request body whose bytes were reserved while it was
    /// received (`AnalysisQueue.reserve`).
    func tee(_ work: AnalysisQueue.Work, reserved: Int, path: String, endpoint: Endpoint) {
        if !queue.offer(work, reserved: reserved) { countNotAnalysed(path: path, endpoint: endpoint) }
    }

    /// A payload forwarded without analysis (queue full, or its body did not fit in `queue_max_bytes`).
    func countNotAnalysed(path: String, endpoint: Endpoint) {
        store.countNotAnalysed(endpoint: path)
        metrics.recordNotAnalysed(endpoint: endpoint.label)
    }
}

extension TimeAmount {
    /// A configuration's seconds as a `TimeAmount`.
    static func fromSeconds(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1e9)) }
}

/// Which routes a listener serves.
enum ListenerRole: Sendable {
    /// Forwards everything; also answers the admin routes when `servesAdmin`.
    case traffic(servesAdmin: Bool)
    /// Only the admin routes (`--admin-listen`).
    case admin
}
