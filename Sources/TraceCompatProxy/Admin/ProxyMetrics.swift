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
/// - `findings{rule}`, `decode_errors`, `not_analysed_payloads`: from the live report (sampled at scrape).
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

    static var queueDepth: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "trace_compat", metricName: "analysis_queue", unitName: "depth", helpText: "Payloads waiting for analysis") }
    static var decodeErrors: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "trace_compat", metricName: "decode", unitName: "errors", helpText: "Payloads that failed to decode (report total)") }
    static var notAnalysed: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "trace_compat", metricName: "not_analysed", unitName: "payloads",
        helpText: "Payloads forwarded without analysis because the queue was full (report total)") }
    static var findings: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "trace_compat", metricName: "findings", unitName: "", helpText: "Findings so far by v4 rule id (report total)") }

    /// The Prometheus text exposition, with the report-derived gauges refreshed first.
    public func exposition(report: Report, queueDepth: Int) -> [UInt8] {
        registry.makeGauge(descriptor: Self.queueDepth).set(Double(queueDepth))
        registry.makeGauge(descriptor: Self.decodeErrors).set(Double(report.decodeErrorCount))
        registry.makeGauge(descriptor: Self.notAnalysed).set(Double(report.notAnalysedCount))
        for (rule, count) in report.findingCountsByRule {
            registry.makeGauge(descriptor: Self.findings, labels: [("rule", rule)]).set(Double(count))
        }
        return registry.emitToBuffer()
    }
}
