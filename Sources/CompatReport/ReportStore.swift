import CompatRules
import Foundation

/// The live report: thread-safe aggregation that analysis threads hand their findings to and that
/// the admin routes, the periodic flush and `audit` read snapshots of.
///
/// Recording is batched per thread, not per payload: each `Analyzer` folds findings and traffic
/// into tables of its own and hands them over (`record(_:)`, one lock) at most every
/// `AnalysisLimits.handOverInterval`, and whenever `snapshot()` asks every registered
/// contributor to hand over first: an idle analyzer at once (so a snapshot after the work is done
/// includes everything), a busy one right after its current request (a snapshot never waits for
/// an idle-priority analysis thread).
/// Finding groups are bounded (`ReportLimits`): beyond a bound they are counted in "other"
/// groups, so the store's size and a snapshot's cost are bounded whatever the traffic.
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
    private var groups: FindingGroups
    private var internalGroups: FindingGroups
    /// Who holds findings not yet handed over (the analyzers), asked to hand over by `snapshot()`.
    private let contributorsLock = NSLock()
    private var contributors: [WeakContributor] = []

    /// The bounds on finding groups and apps.
    public let limits: ReportLimits

    /// Samples kept per finding, and whether value excerpts are kept at all.
    public let sampleLimit: Int
    public let redact: Bool

    public convenience init() {
        self.init(sampleLimit: 5, redact: false)
    }

    public init(sampleLimit: Int, redact: Bool, limits: ReportLimits = .default) {
        self.sampleLimit = max(0, sampleLimit)
        self.redact = redact
        self.limits = limits
        groups = FindingGroups(limits: limits, sampleLimit: self.sampleLimit)
        internalGroups = FindingGroups(limits: limits, sampleLimit: self.sampleLimit)
        report = Report()
        report.options = Report.Options(sampleLimit: self.sampleLimit, redacted: redact)
    }

    /// Continues from an existing report (proxy restart); counts add on.
    public convenience init(continuing report: Report) {
        self.init(continuing: report, sampleLimit: report.options.sampleLimit, redact: report.options.redacted)
    }

    public convenience init(continuing previous: Report, sampleLimit: Int, redact: Bool, limits: ReportLimits = .default) {
        self.init(sampleLimit: sampleLimit, redact: redact, limits: limits)
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

    /// Adds a batch (one thread's hand-over, or a whole report) exactly, within `limits`: an app
    /// beyond `limits.apps` is counted as app "other", its findings too.
    public func record(_ batch: Report) {
        lock.withLock {
            report.startedAt = [report.startedAt, batch.startedAt].compactMap { $0 }.min()
            report.updatedAt = [report.updatedAt, batch.updatedAt].compactMap { $0 }.max()
            report.traffic.absorb(batch.traffic)
            for (name, s) in batch.services { report.services[boundedApp(name), default: ServiceSummary()].merge(s) }
            for f in batch.findings { groups.add(prepared(f)) }
            for f in batch.internalStructTags { internalGroups.add(prepared(f)) }
        }
    }

    /// The app name as kept: itself while fewer than `limits.apps` are named (or it is known),
    /// else "other" (which is not counted against the bound).
    private func boundedApp(_ name: String) -> String {
        if name == ReportLimits.other || report.services[name] != nil { return name }
        let named = report.services.count - (report.services[ReportLimits.other] == nil ? 0 : 1)
        return named < limits.apps ? name : ReportLimits.other
    }

    private func prepared(_ finding: Finding) -> Finding {
        var f = finding
        if redact { for j in f.samples.indices { f.samples[j].excerpt = nil } }
        if let app = f.app, report.services[app] == nil { f.app = boundedApp(app) }
        return f
    }

    /// Registers a holder of findings not yet handed over; `snapshot()` asks it to hand over first.
    /// Held weakly: a contributor hands over what it holds when it goes away.
    public func register(_ contributor: any ReportContributor) {
        contributorsLock.withLock {
            contributors.removeAll { $0.value == nil }
            contributors.append(WeakContributor(value: contributor))
        }
    }

    /// Asks every registered contributor to hand over what it holds now.
    public func collect() {
        let current = contributorsLock.withLock { contributors.compactMap(\.value) }
        for c in current { c.handOver() }
    }

    /// A consistent copy of everything so far (what the analysis threads hold included),
    /// finalized (ordered, checklist computed).
    public func snapshot() -> Report {
        collect()
        let copy = lock.withLock {
            foldPending()
            var r = report
            r.findings = groups.findings
            r.internalStructTags = internalGroups.findings
            return r
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
        // The usual path (no query, not too long, not empty) is itself: no new string.
        if !path.isEmpty, path.utf8.count <= 200, !path.utf8.contains(UInt8(ascii: "?")) { return path }
        var p = Substring(path)
        if let q = p.firstIndex(of: "?") { p = p[..<q] }
        if p.isEmpty { return "/" }
        return String(p.prefix(200))
    }
}

/// Whoever folds findings into tables of its own (an `Analyzer`) and hands them to a store in batches.
public protocol ReportContributor: AnyObject {
    /// Records what it holds into its store (with `ReportStore.record`) and starts afresh: now,
    /// or, when busy, right after its current unit of work (it must not block the caller).
    func handOver()
}

struct WeakContributor {
    weak var value: (any ReportContributor)?
}
