/// Every bound on the label values of the report-derived metric families (`ProxyMetrics`).
///
/// Prometheus keeps one time series per label set for as long as it is scraped, so a label fed by
/// what a tracer sends must come from a bounded set. `rule` and `severity` are enums of ours;
/// `app` is bounded by the report's own cap (`ReportLimits.apps`, beyond which the engine counts
/// apps as "other"), and checked again here; versions are tracer-sent strings, so both their
/// length and their characters are bounded, and only one value per app and label is exported.
public enum MetricsLimits {
    /// Apps labelled by name at most; further apps are exported as app "other". The store already
    /// folds apps beyond `ReportLimits.apps` (32 by default, `max_apps`); 256 only guards a
    /// report continued from a file written under a larger `max_apps`.
    public static let apps = 256
    /// Characters of an app name in a label. Datadog truncates service names at 100 characters.
    public static let appLength = 100
    /// Characters of a version in `trace_compat_app_info`: a real one (`3.19.9`, `3.12.7`,
    /// `v0.4`, `2.21.0rc1`) is under 20; longer is not a version.
    public static let versionLength = 32
}
