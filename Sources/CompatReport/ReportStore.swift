import CompatRules
import Foundation

/// The live report: thread-safe aggregation that analysis threads record into and that the
/// admin routes, the periodic flush and `audit` read snapshots of.
///
/// Recording is batched: an `Analyzer` aggregates one payload's findings and traffic in a small
/// `Report` of its own (no lock, no shared state) and hands it over with `record(_:)`, which takes
/// the lock once per payload. The store keeps an index of its findings by group so that adding a
/// batch costs one dictionary lookup per distinct finding of the batch.
public final class ReportStore: @unchecked Sendable {
    private let lock = NSLock()
    private var report: Report
    /// Counts the proxy's event loops add (`countNotAnalysed`, `countProxyError`) wait here,
    /// under a lock of their own, and are folded into `report` by `snapshot()`. An event loop
    /// then never waits for `lock`, which an analysis thread holds while it records a payload:
    /// analysis threads run at idle priority, and one preempted inside `record` would otherwise
    /// hold up forwarding (priority inversion; seen as p99 latency in the harness).
    private let pendingLock = NSLock()
    private var pendingNotAnalysed: [String: Int] = [:]
    private var pendingProxyErrors: [String: [String: Int]] = [:]
    private var findingIndex: [Finding.GroupKey: Int] = [:]
    private var internalIndex: [Finding.GroupKey: Int] = [:]

    /// Samples kept per finding, and whether value excerpts are kept at all.
    public let sampleLimit: Int
    public let redact: Bool

    public convenience init() {
        self.init(sampleLimit: 5, redact: false)
    }

    public init(sampleLimit: Int, redact: Bool) {
        self.sampleLimit = max(0, sampleLimit)
        self.redact = redact
        report = Report()
        report.options = Report.Options(sampleLimit: self.sampleLimit, redacted: redact)
    }

    /// Continues from an existing report (proxy restart); counts add on.
    public convenience init(continuing report: Report) {
        self.init(continuing: report, sampleLimit: report.options.sampleLimit, redact: report.options.redacted)
    }

    public init(continuing previous: Report, sampleLimit: Int, redact: Bool) {
        self.sampleLimit = max(0, sampleLimit)
        self.redact = redact
        report = Report()
        report.options = Report.Options(sampleLimit: self.sampleLimit, redacted: redact)
        var seed = previous
        if redact {
            // A redacted store never shows excerpts, not even those of the report it continues.
            for i in seed.findings.indices { for j in seed.findings[i].samples.indices { seed.findings[i].samples[j].excerpt = nil } }
        }
        seed.options = report.options
        record(seed)
    }

    /// Counts one request by endpoint (normalised path).
    public func countRequest(endpoint: String) {
        lock.withLock {
            let e = bounded(Self.normalise(endpoint), in: report.traffic.requestsByEndpoint)
            report.traffic.requestsByEndpoint[e, default: 0] += 1
        }
    }

    /// Counts a payload that the bounded analysis queue had no room for (forwarded, not analysed).
    /// The request itself is counted too (by endpoint), as `Analyzer.analyze` would have.
    public func countNotAnalysed(endpoint: String) {
        let e = Self.normalise(endpoint)
        pendingLock.withLock {
            pendingNotAnalysed[bounded(e, in: pendingNotAnalysed), default: 0] += 1
        }
    }

    /// Counts a proxy-side outcome a user can act on: "upstream_unreachable" (502),
    /// "upstream_timeout" (504), "payload_too_large" (413), "client_aborted", ...
    public func countProxyError(_ kind: String, endpoint: String) {
        let e = Self.normalise(endpoint)
        pendingLock.withLock {
            let key = bounded(e, in: pendingProxyErrors[kind] ?? [:])  // no copy held across the update
            pendingProxyErrors[kind, default: [:]][key, default: 0] += 1
        }
    }

    /// Moves the pending counts into `report`. Call with `lock` held.
    private func foldPending() {
        let (notAnalysed, proxyErrors) = pendingLock.withLock {
            defer { pendingNotAnalysed = [:]; pendingProxyErrors = [:] }
            return (pendingNotAnalysed, pendingProxyErrors)
        }
        for (endpoint, n) in notAnalysed {
            let e = bounded(endpoint, in: report.traffic.requestsByEndpoint)
            report.traffic.notAnalysed[e, default: 0] += n
            report.traffic.requestsByEndpoint[e, default: 0] += n
        }
        for (kind, byEndpoint) in proxyErrors {
            for (endpoint, n) in byEndpoint {
                let e = bounded(endpoint, in: report.traffic.requestsByEndpoint)
                report.traffic.proxyErrors[kind, default: [:]][e, default: 0] += n
            }
        }
    }

    /// Adds a batch (one payload's worth, or a whole report) exactly.
    public func record(_ batch: Report) {
        lock.withLock {
            report.startedAt = [report.startedAt, batch.startedAt].compactMap { $0 }.min()
            report.updatedAt = [report.updatedAt, batch.updatedAt].compactMap { $0 }.max()
            report.traffic.absorb(batch.traffic)
            for (name, s) in batch.services { report.services[name, default: ServiceSummary()].merge(s) }
            Self.absorb(&report.findings, &findingIndex, batch.findings, sampleLimit: sampleLimit, redact: redact)
            Self.absorb(&report.internalStructTags, &internalIndex, batch.internalStructTags, sampleLimit: sampleLimit, redact: redact)
        }
    }

    private static func absorb(_ into: inout [Finding], _ index: inout [Finding.GroupKey: Int], _ more: [Finding], sampleLimit: Int, redact: Bool) {
        for var f in more {
            if redact { for j in f.samples.indices { f.samples[j].excerpt = nil } }
            let key = f.groupKey
            if let i = index[key] {
                into[i].absorb(f, sampleLimit: sampleLimit)
            } else {
                if f.samples.count > sampleLimit { f.samples.removeLast(f.samples.count - sampleLimit) }
                index[key] = into.count
                into.append(f)
            }
        }
    }

    /// A consistent copy of everything so far, finalized (ordered, checklist computed).
    public func snapshot() -> Report {
        let copy = lock.withLock {
            foldPending()
            return report
        }
        return copy.finalized()
    }

    /// Distinct endpoints counted at most; further paths count as "other" (a client sending random
    /// paths must not grow the report without bound).
    public static let endpointLimit = 256

    private func bounded(_ endpoint: String, in seen: [String: Int]) -> String {
        seen.count < Self.endpointLimit || seen[endpoint] != nil ? endpoint : "other"
    }

    /// Endpoint names as counted: the path without its query, at most 200 characters.
    public static func normalise(_ path: String) -> String {
        var p = Substring(path)
        if let q = p.firstIndex(of: "?") { p = p[..<q] }
        if p.isEmpty { return "/" }
        return String(p.prefix(200))
    }
}
