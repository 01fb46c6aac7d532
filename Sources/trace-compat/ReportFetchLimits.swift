import NIOCore

/// Every bound of `report merge` over URLs, in one place with the reason for its value.
enum ReportFetchLimits {
    /// Seconds to wait for one node (connect, then the whole answer) when `--timeout` is not given.
    /// A proxy answers `/compat/report.json` from memory in milliseconds; 5 s covers a busy node on
    /// a slow network without stalling a merge of dozens of nodes for long (they are fetched in parallel).
    static let defaultTimeoutSeconds = 5.0

    /// Largest report body accepted from one node. A report is bounded by the analysis engine's caps
    /// (apps, finding groups, samples per group): a few MiB at most. 64 MiB leaves room for that and
    /// keeps a misdirected URL (a log file, a stream) from filling memory.
    static let maxReportBytes = 64 * 1024 * 1024

    /// Nodes fetched at the same time. Each fetch is one connection and at most `maxReportBytes`;
    /// 16 keeps memory and file descriptors bounded for a large fleet while a merge of dozens of
    /// nodes still takes about one timeout at worst per 16 nodes.
    static let maxConcurrentFetches = 16

    /// The timeout as NIO wants it.
    static func timeAmount(seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1_000_000_000)) }
}
