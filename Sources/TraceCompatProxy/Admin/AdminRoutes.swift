import CompatReport
import Foundation
import TextOutput

/// The proxy's own routes, under prefixes the agent never uses: `/compat/…` and `/metrics`.
///
/// - `GET /compat/report` and `/compat/report.json`: the live report (JSON, schema v1)
/// - `GET /compat/report.md`: the same as Markdown; `GET /compat/report.html`: the HTML page
/// - `GET /compat/health`: `{"status":"ok",…}` (upstream, queue depth, uptime, and whether
///   analysis is busy: `"analysis":{"queued":0,"in_flight":0,"idle":true}`)
/// - `GET /metrics`: Prometheus text exposition (see `ProxyMetrics`)
public struct AdminRoutes: Sendable {
    public let store: ReportStore
    public let metrics: ProxyMetrics
    public let queue: AnalysisQueue
    public let upstream: UpstreamTarget
    public let startedAt: Date

    public init(store: ReportStore, metrics: ProxyMetrics, queue: AnalysisQueue, upstream: UpstreamTarget, startedAt: Date = Date()) {
        self.store = store
        self.metrics = metrics
        self.queue = queue
        self.upstream = upstream
        self.startedAt = startedAt
    }

    /// True for paths these routes own (they are answered locally on the admin listener).
    public static func owns(uri: String) -> Bool {
        let path = path(of: uri)
        return path == "/metrics" || path == "/compat" || path.hasPrefix("/compat/")
    }

    /// The routes that render the whole report: answered off the event loops, from a cache
    /// (`AdminRenderer`). The set is fixed, so the cache is bounded.
    static let renderedPaths: Set<String> = ["/compat/report", "/compat/report.json", "/compat/report.md", "/compat/report.html", "/metrics"]

    /// `uri` without its query.
    static func path(of uri: String) -> String {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
    }

    public func respond(method: String, uri: String) -> LocalResponse {
        let path = Self.path(of: uri)
        guard method == "GET" || method == "HEAD" else {
            return LocalResponse(status: 405, json: #"{"error":"method_not_allowed","detail":"admin routes answer GET only"}"# + "\n")
        }
        switch path {
        case "/compat/report", "/compat/report.json":
            return LocalResponse(status: 200, contentType: "application/json", body: ReportRenderer.json(store.snapshot()))
        case "/compat/report.md":
            return LocalResponse(status: 200, contentType: "text/markdown; charset=utf-8", body: Array(ReportRenderer.markdown(store.snapshot()).utf8))
        case "/compat/report.html":
            return LocalResponse(status: 200, contentType: "text/html; charset=utf-8", body: Array(ReportRenderer.html(store.snapshot()).utf8))
        case "/compat/health":
            let uptime = Int(Date().timeIntervalSince(startedAt))
            // `analysis`: whether a payload is still waiting or being analysed, so a caller that
            // wants a settled report (the benchmark harness, tests) polls this instead of sleeping.
            let activity = queue.activity
            let analysis = #"{"queued":\#(activity.queued),"in_flight":\#(activity.inFlight),"idle":\#(activity.idle)}"#
            let json = #"{"status":"ok","upstream":"\#(JSONWriter.escaped(upstream.description))","analysis_queue_depth":\#(activity.queued),"analysis":\#(analysis),"uptime_seconds":\#(uptime)}"#
            return LocalResponse(status: 200, json: json + "\n")
        case "/metrics":
            let body = metrics.exposition(report: store.snapshot(), queueDepth: queue.depth)
            return LocalResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body)
        default:
            let routes = ["/compat/report", "/compat/report.json", "/compat/report.md", "/compat/report.html", "/compat/health", "/metrics"]
            let list = routes.map { "\"\($0)\"" }.joined(separator: ",")
            return LocalResponse(status: 404, json: #"{"error":"not_found","routes":[\#(list)]}"# + "\n")
        }
    }
}
