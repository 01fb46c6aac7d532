import CompatReport
import CoreMetrics
import Foundation
import Metrics
import Synchronization
import Prometheus

/// The proxy's Prometheus metrics, recorded through swift-metrics into one registry per proxy
/// (so several proxies in one process, as in tests, do not mix their numbers).
///
/// Names (all prefixed `trace_compat_`):
/// - `requests_total{endpoint,status}`: exchanges finished, by endpoint family and status.
/// - `request_bytes_total{endpoint}` / `response_bytes_total{endpoint}`: body bytes in and out.
/// - `upstream_latency_seconds{endpoint}`: histogram, last request byte sent → agent's status line.
/// - `proxy_errors_total{kind}`: 502/504/413/resets/client aborts (`ProxyOutcome` raw values).
/// - `not_analysed_total{endpoint}`: payloads forwarded without analysis (queue full).
/// - `analysis_queue_depth`: payloads waiting for analysis (sampled at scrape).
/// - `decode_errors`, `not_analysed_payloads`: from the live report (sampled at scrape).
///
/// The fleet families, from the same report snapshot (docs/fleet.md answers "which apps would
/// break on v4, and why" with them); every label value comes from a bounded set (`MetricsLimits`):
/// - `findings_total{rule,severity,app}`: finding occurrences (counter).
/// - `finding_groups{rule,severity,app}`: finding groups (gauge).
/// - `app_info{app,tracer_version,python_version,api_version}`: 1, the versions the app showed most.
/// - `app_spans_total{app}`: spans of the app (counter).
/// - `v4_ready{app}`: 1 when the app has no `breaks` or `changes` finding, else 0.
public final class ProxyMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    private let counters = Mutex([String: Metrics.Counter]())
    private let timers = Mutex([String: Metrics.Timer]())

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .seconds(2), .seconds(5), .seconds(10),
        ]
        self.factory = factory
    }

    /// The factory, for `MetricsSystem.bootstrap` in the executable.
    public var metricsFactory: PrometheusMetricsFactory { factory }

    private func counter(_ name: String, _ dimensions: [(String, String)]) -> Metrics.Counter {
        let key = name + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Metrics.Counter(label: name, dimensions: dimensions, factory: factory)
            cache[key] = counter
            return counter
        }
    }

    /// The three counters of one finished exchange, cached per (endpoint family, status): both
    /// sets are small and bounded, and no key string is built per request.
    private struct ExchangeKey: Hashable {
        let endpoint: String
        let status: String
    }

    private struct ExchangeCounters {
        let requests: Metrics.Counter
        let requestBytes: Metrics.Counter
        let responseBytes: Metrics.Counter
    }

    private let exchangeCounters = Mutex([ExchangeKey: ExchangeCounters]())

    public func recordExchange(endpoint: String, status: String, requestBytes: Int, responseBytes: Int) {
        let key = ExchangeKey(endpoint: endpoint, status: status)
        let cached = exchangeCounters.withLock { $0[key] }
        let set: ExchangeCounters
        if let cached {
            set = cached
        } else {
            set = ExchangeCounters(
                requests: counter("trace_compat_requests_total", [("endpoint", endpoint), ("status", status)]),
                requestBytes: counter("trace_compat_request_bytes_total", [("endpoint", endpoint)]),
                responseBytes: counter("trace_compat_response_bytes_total", [("endpoint", endpoint)]))
            exchangeCounters.withLock { $0[key] = set }
        }
        set.requests.increment()
        if requestBytes > 0 { set.requestBytes.increment(by: Int64(requestBytes)) }
        if responseBytes > 0 { set.responseBytes.increment(by: Int64(responseBytes)) }
    }

    public func recordUpstreamLatency(endpoint: String, nanoseconds: Int64) {
        let timer = timers.withLock { cache in
            if let timer = cache[endpoint] { return timer }
            let timer = Metrics.Timer(label: "trace_compat_upstream_latency_seconds", dimensions: [("endpoint", endpoint)], factory: factory)
            cache[endpoint] = timer
            return timer
        }
        timer.recordNanoseconds(nanoseconds)
    }

    public func recordProxyError(_ outcome: ProxyOutcome) {
        counter("trace_compat_proxy_errors_total", [("kind", outcome.rawValue)]).increment()
    }

    public func recordNotAnalysed(endpoint: String) {
        counter("trace_compat_not_analysed_total", [("endpoint", endpoint)]).increment()
    }

    /// A `trace_compat_<metricName>_<unit>` family with its help text.
    private static func family(_ metricName: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "trace_compat", metricName: metricName, unitName: unit, helpText: help)
    }

    static var queueDepth: MetricNameDescriptor { family("analysis_queue", "depth", "Payloads waiting for analysis") }
    static var decodeErrors: MetricNameDescriptor { family("decode", "errors", "Payloads that failed to decode (report total)") }
    static var notAnalysed: MetricNameDescriptor {
        family("not_analysed", "payloads", "Payloads forwarded without analysis because the queue was full (report total)")
    }
    static var findingsTotal: MetricNameDescriptor { family("findings", "total", "Finding occurrences by v4 rule, severity and app (report total)") }
    static var findingGroups: MetricNameDescriptor { family("finding", "groups", "Finding groups by v4 rule, severity and app (report total)") }
    static var appInfo: MetricNameDescriptor {
        family("app", "info", "1 per app, labelled with the tracer, Python and trace API versions it showed most")
    }
    static var appSpans: MetricNameDescriptor { family("app_spans", "total", "Spans seen per app (report total)") }
    static var v4Ready: MetricNameDescriptor {
        family("v4", "ready", "1 when the app has no finding that breaks or changes under dd-trace-py v4, else 0")
    }

    /// What the fleet families exported at the last scrape: counters only ever grow by the
    /// difference, gauges of label sets gone from the report are removed.
    private struct FleetState {
        var counted: [FleetSeries: Int64] = [:]
        var gauges: [FleetSeries: Prometheus.Gauge] = [:]
        var namedApps: Set<String> = []
    }

    /// One series of a fleet family: its name and label values, in label order.
    struct FleetSeries: Hashable {
        let family: String
        let labels: [String]
    }

    private let fleet = Mutex(FleetState())

    /// The Prometheus text exposition, with the report-derived families refreshed first.
    public func exposition(report: Report, queueDepth: Int) -> [UInt8] {
        registry.makeGauge(descriptor: Self.queueDepth).set(Double(queueDepth))
        registry.makeGauge(descriptor: Self.decodeErrors).set(Double(report.decodeErrorCount))
        registry.makeGauge(descriptor: Self.notAnalysed).set(Double(report.notAnalysedCount))
        updateFleetFamilies(report)
        return registry.emitToBuffer()
    }

    /// Sets the fleet families from `report`, under one lock (two scrapes rendering at once must
    /// not both add the same difference to a counter).
    ///
    /// Counters are derived from the report's totals, which only grow while the proxy runs; a
    /// total that shrinks (a finding group whose severity rose moves its count to the higher
    /// severity) leaves its counter where it was, so a counter never goes down between scrapes.
    private func updateFleetFamilies(_ report: Report) {
        fleet.withLock { state in
            let values = Self.fleetValues(report, namedApps: &state.namedApps)
            for (series, value) in values.counters {
                let delta = value - state.counted[series, default: 0]
                guard delta > 0 else { continue }
                let descriptor = series.family == Self.appSpans.name ? Self.appSpans : Self.findingsTotal
                registry.makeCounter(descriptor: descriptor, labels: values.labels(series)).increment(by: delta)
                state.counted[series] = value
            }
            for (series, gauge) in state.gauges where values.gauges[series] == nil {
                registry.unregisterGauge(gauge)
                state.gauges[series] = nil
            }
            for (series, value) in values.gauges {
                let descriptor = [Self.findingGroups, Self.appInfo, Self.v4Ready].first { $0.name == series.family }!
                let gauge = state.gauges[series] ?? registry.makeGauge(descriptor: descriptor, labels: values.labels(series))
                gauge.set(Double(value))
                state.gauges[series] = gauge
            }
        }
    }

    /// The fleet families' values for one report, every label value bounded (`MetricsLimits`).
    struct FleetValues {
        var counters: [FleetSeries: Int64] = [:]
        var gauges: [FleetSeries: Int64] = [:]

        static let labelNames: [String: [String]] = [
            ProxyMetrics.findingsTotal.name: ["rule", "severity", "app"],
            ProxyMetrics.findingGroups.name: ["rule", "severity", "app"],
            ProxyMetrics.appInfo.name: ["app", "tracer_version", "python_version", "api_version"],
            ProxyMetrics.appSpans.name: ["app"],
            ProxyMetrics.v4Ready.name: ["app"],
        ]

        func labels(_ series: FleetSeries) -> [(String, String)] {
            Array(zip(Self.labelNames[series.family]!, series.labels))
        }
    }

    static func fleetValues(_ report: Report, namedApps: inout Set<String>) -> FleetValues {
        var out = FleetValues()
        func app(_ name: String?) -> String { boundedApp(name ?? "", named: &namedApps) }
        var apps: Set<String> = []
        var notReady: Set<String> = []
        for f in report.findings {
            let a = app(f.app ?? f.service)
            apps.insert(a)
            if f.severity >= .changes { notReady.insert(a) }
            let labels = [f.rule.rawValue, f.severity.rawValue, a]
            out.counters[FleetSeries(family: findingsTotal.name, labels: labels), default: 0] += Int64(f.count)
            out.gauges[FleetSeries(family: findingGroups.name, labels: labels), default: 0] += 1
        }
        // Several names may fold into "other": their versions are counted together.
        var versions: [String: (tracer: [String: Int], python: [String: Int], api: [String: Int])] = [:]
        for (name, s) in report.services.sorted(by: { $0.key < $1.key }) {
            let a = app(name)
            apps.insert(a)
            out.counters[FleetSeries(family: appSpans.name, labels: [a]), default: 0] += Int64(s.spans)
            var v = versions[a] ?? ([:], [:], [:])
            for (k, n) in s.tracerVersions { v.tracer[k, default: 0] += n }
            for (k, n) in s.pythonVersions { v.python[k, default: 0] += n }
            for (k, n) in s.apiVersions { v.api[k, default: 0] += n }
            versions[a] = v
        }
        for (a, v) in versions {
            let labels = [a, mostSeen(v.tracer), mostSeen(v.python), mostSeen(v.api)]
            out.gauges[FleetSeries(family: appInfo.name, labels: labels)] = 1
        }
        for a in apps {
            out.gauges[FleetSeries(family: v4Ready.name, labels: [a])] = notReady.contains(a) ? 0 : 1
        }
        return out
    }

    /// The app's label: its name (cut to `MetricsLimits.appLength`) while fewer than
    /// `MetricsLimits.apps` are named (or it already is), else "other". A name once exported stays
    /// exported, so its counters keep growing under one label set.
    static func boundedApp(_ name: String, named: inout Set<String>) -> String {
        let cut = String(name.prefix(MetricsLimits.appLength))
        if cut == ReportLimits.other || named.contains(cut) { return cut }
        guard named.count < MetricsLimits.apps else { return ReportLimits.other }
        named.insert(cut)
        return cut
    }

    /// The version seen in most requests (ties: the highest string), as a label value: at most
    /// `MetricsLimits.versionLength` characters of `[0-9A-Za-z.+_-]` (others become `_`); "" when
    /// none was seen.
    static func mostSeen(_ counts: [String: Int]) -> String {
        guard let best = counts.max(by: { ($0.value, $0.key) < ($1.value, $1.key) })?.key else { return "" }
        let allowed = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+_-")
        return String(best.prefix(MetricsLimits.versionLength).map { allowed.contains($0) ? $0 : "_" })
    }
}
