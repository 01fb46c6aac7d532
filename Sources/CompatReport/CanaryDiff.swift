import Foundation
import CompatRules

/// One row of an application's canary comparison (V4-CANARY-DIFF): an operation or a key whose
/// presence differs between the app's 3.x and 4.x traffic, with both sides' numbers.
public struct CanaryDiffRow: Codable, Sendable, Equatable {
    public var change: V4CanaryDiffRule.Change
    /// The services the operation's spans had (both sides, comma-separated).
    public var service: String
    public var operation: String
    public var type: String
    public var component: String
    /// The meta or metrics key (key rows only).
    public var key: String?
    /// Operation rows: spans, traces and spans per trace; key rows: spans carrying the key, the
    /// operation's spans and their share.
    public var before: Side
    public var after: Side
    public var confidence: Confidence
    /// The rule that predicted this difference from 3.x traffic alone, and its kind.
    public var predictedBy: RuleID?
    public var predictedKind: String?
    /// The predicting rule's finding count for this app and kind (spans it flagged).
    public var predictedCount: Int?

    public struct Side: Codable, Sendable, Equatable {
        public var spans: Int
        /// Traces (operation rows) or the operation's spans (key rows).
        public var of: Int
        /// spans / of, rounded to 4 decimals.
        public var rate: Double
        public init(spans: Int, of: Int) {
            self.spans = spans; self.of = of
            rate = of > 0 ? (Double(spans) / Double(of) * 10_000).rounded() / 10_000 : 0
        }
    }

    enum CodingKeys: String, CodingKey {
        case change, service, operation, type, component, key, before, after, confidence
        case predictedBy = "predicted_by", predictedKind = "predicted_kind", predictedCount = "predicted_count"
    }
}

/// The comparison of one application's 3.x and 4.x profiles: pure, recomputed by
/// `Report.finalized()` from the profiles, so merged reports compare merged traffic.
///
/// Operations are compared by (name, type, component), their services gathered: a span whose
/// service changes between versions (a database span leaving its `<alias>db` service) is then
/// not reported as one operation gone and another new.
public enum CanaryDiff {
    struct Op { var services: Set<String> = []; var spans = 0; var meta: [String: Int] = [:]; var metrics: [String: Int] = [:] }
    struct OpID: Hashable, Comparable {
        var name, type, component: String
        static func < (a: OpID, b: OpID) -> Bool { (a.name, a.type, a.component) < (b.name, b.type, b.component) }
    }

    static func operations(_ p: CanaryProfile) -> [OpID: Op] {
        var out: [OpID: Op] = [:]
        for o in p.operations {
            let id = OpID(name: o.name, type: o.type, component: o.component)
            var op = out[id] ?? Op()
            op.services.insert(o.service)
            op.spans += o.spans
            op.meta.add(o.meta)
            op.metrics.add(o.metrics)
            out[id] = op
        }
        return out
    }

    /// The rows for an app; nil unless it was seen on both compared versions. `predicted` gives
    /// the predicting rule's finding count for a (rule, kind) of this app.
    public static func rows(_ app: CanaryApp, predicted: (RuleID, String) -> Int? = { _, _ in nil }) -> [CanaryDiffRow]? {
        guard let b = app.versions[V4CanaryDiffRule.before], let a = app.versions[V4CanaryDiffRule.after],
              b.traces > 0, a.traces > 0 else { return nil }
        let confidence = V4CanaryDiffRule.confidence(beforeTraces: b.traces, afterTraces: a.traces)
        let before = operations(b), after = operations(a)
        var rows: [CanaryDiffRow] = []
        for id in Set(before.keys).union(after.keys).sorted() where id.name != ReportLimits.other {
            let x = before[id] ?? Op(), y = after[id] ?? Op()
            let service = x.services.union(y.services).sorted().joined(separator: ", ")
            func row(_ change: V4CanaryDiffRule.Change, key: String? = nil, _ s1: CanaryDiffRow.Side, _ s2: CanaryDiffRow.Side) -> CanaryDiffRow {
                var r = CanaryDiffRow(change: change, service: service, operation: id.name, type: id.type, component: id.component,
                                      key: key, before: s1, after: s2, confidence: confidence)
                if change == .gone || change == .lower, let p = V4CanaryDiffRule.prediction(name: id.name, type: id.type, component: id.component) {
                    r.predictedBy = p.rule
                    r.predictedKind = p.kind
                    r.predictedCount = predicted(p.rule, p.kind)
                }
                return r
            }
            let rb = CanaryDiffRow.Side(spans: x.spans, of: b.traces), ra = CanaryDiffRow.Side(spans: y.spans, of: a.traces)
            if y.spans == 0 {
                rows.append(row(.gone, rb, ra))
            } else if x.spans == 0 {
                rows.append(row(.new, rb, ra))
            } else {
                if V4CanaryDiffRule.isClearlyLower(before: rb.rate, after: ra.rate) { rows.append(row(.lower, rb, ra)) }
                for (mine, theirs, gone, new) in [(x.meta, y.meta, V4CanaryDiffRule.Change.metaKeyGone, V4CanaryDiffRule.Change.metaKeyNew),
                                                  (x.metrics, y.metrics, .metricKeyGone, .metricKeyNew)] {
                    for key in Set(mine.keys).union(theirs.keys).sorted() where V4CanaryDiffRule.countsAsTagDifference(key) {
                        let kb = CanaryDiffRow.Side(spans: mine[key] ?? 0, of: x.spans), ka = CanaryDiffRow.Side(spans: theirs[key] ?? 0, of: y.spans)
                        if ka.spans == 0 && V4CanaryDiffRule.isMost(kb.rate) { rows.append(row(gone, key: key, kb, ka)) }
                        if kb.spans == 0 && V4CanaryDiffRule.isMost(ka.rate) { rows.append(row(new, key: key, kb, ka)) }
                    }
                }
            }
        }
        return rows
    }

    /// The V4-CANARY-DIFF finding of a row.
    static func finding(_ r: CanaryDiffRow, app: String, from: ReportTime, to: ReportTime) -> Finding {
        let operationRow = r.key == nil
        let counted = [.gone, .lower, .metaKeyGone, .metricKeyGone].contains(r.change) ? r.before.spans : r.after.spans
        func side(_ v: String, _ s: CanaryDiffRow.Side) -> String {
            operationRow ? "v\(v): \(text(s.rate)) per trace (\(s.spans) span(s) in \(s.of) trace(s))"
                         : "v\(v): on \(percent(s.rate)) of spans (\(s.spans) of \(s.of))"
        }
        var evidence = side(V4CanaryDiffRule.before, r.before) + "; " + side(V4CanaryDiffRule.after, r.after)
        if let rule = r.predictedBy {
            evidence += "; predicted by \(rule.rawValue) (\(r.predictedKind ?? "")" + (r.predictedCount.map { ", \($0) span(s) flagged" } ?? "") + ")"
        }
        return Finding(rule: .canaryDiff, confidence: r.confidence, service: r.service, operation: r.operation, key: r.key,
                       kind: r.change.rawValue, count: counted, firstSeen: from, lastSeen: to,
                       fix: r.predictedBy.map { $0.rule.fix }, evidence: evidence, app: app)
    }

    static func text(_ v: Double) -> String {
        v == v.rounded() ? String(Int(v)) : String(format: "%.2f", v)
    }
    static func percent(_ v: Double) -> String { text((v * 1000).rounded() / 10) + "%" }
}

extension Report {
    /// Recomputes the canary comparison and its V4-CANARY-DIFF findings from the profiles (the
    /// findings of a previous finalization are replaced, never added to).
    mutating func finalizeCanary() {
        findings.removeAll { $0.rule == .canaryDiff }
        guard var apps = canary else { return }
        let from = startedAt ?? ReportTime(milliseconds: 0), to = updatedAt ?? from
        for name in apps.keys.sorted() {
            var app = apps[name]!
            for v in app.versions.keys { app.versions[v] = app.versions[v]!.sorted() }
            let rows = CanaryDiff.rows(app) { rule, kind in
                let n = findings.filter { $0.rule == rule && $0.app == name && $0.kind == kind }.reduce(0) { $0 + $1.count }
                return n > 0 ? n : nil
            }
            app.diff = rows.map { Array($0.prefix(CanaryLimits.diffRows)) }
            app.diffRowsNotShown = rows.flatMap { $0.count > CanaryLimits.diffRows ? $0.count - CanaryLimits.diffRows : nil }
            for r in app.diff ?? [] { findings.append(CanaryDiff.finding(r, app: name, from: from, to: to)) }
            apps[name] = app
        }
        canary = apps
    }
}
