import CompatRules

/// Findings grouped by `Finding.GroupKey`, with the group bounds of `ReportLimits`: a new group
/// beyond its scope's bound (rule, app, service), or beyond the report's, is counted in an
/// explicit "other" group instead, so the number of groups is bounded and every count stays exact.
///
/// Used by the live store and by `report merge`, so both bound the same way.
public struct FindingGroups: Sendable {
    public private(set) var findings: [Finding] = []
    private var index: [Finding.GroupKey: Int] = [:]
    /// Groups per (rule, app, service), "other" groups not counted.
    private var perScope: [Scope: Int] = [:]
    private var regular = 0
    public let limits: ReportLimits
    public let sampleLimit: Int

    struct Scope: Hashable { var rule: RuleID; var app: String; var service: String }

    public init(limits: ReportLimits, sampleLimit: Int, findings: [Finding] = []) {
        self.limits = limits
        self.sampleLimit = sampleLimit
        for f in findings { add(f) }
    }

    public var count: Int { findings.count }

    /// Adds one finding exactly (into its group, its scope's "other" group, or the global one).
    public mutating func add(_ finding: Finding) {
        let key = finding.groupKey
        if let i = index[key] {
            findings[i].absorb(finding, sampleLimit: sampleLimit)
            return
        }
        if finding.isOverflow {
            insert(finding, key: key)
            return
        }
        let scope = Scope(rule: finding.rule, app: finding.app ?? "", service: finding.service)
        let inScope = perScope[scope, default: 0]
        if inScope < limits.groupsPerScope && regular < limits.groups {
            perScope[scope] = inScope + 1
            regular += 1
            insert(finding, key: key)
            return
        }
        // The scope's own "other" group while the report has room for it, else the rule's global one.
        var other = inScope >= limits.groupsPerScope && regular < limits.groups
            ? finding.overflow(app: finding.app, service: finding.service)
            : finding.overflow(app: finding.app == nil ? nil : ReportLimits.other, service: ReportLimits.other)
        other.evidence = "groups beyond \(limits.groupsPerScope) per rule, app and service (\(limits.groups) in all) are counted here"
        add(other)
    }

    private mutating func insert(_ finding: Finding, key: Finding.GroupKey) {
        var f = finding
        if f.samples.count > sampleLimit { f.samples.removeLast(f.samples.count - sampleLimit) }
        index[key] = findings.count
        findings.append(f)
    }
}

extension Finding {
    /// True for an "other" group (the overflow of a bounded scope).
    public var isOverflow: Bool { kind == ReportLimits.other && resource == ReportLimits.other && operation.isEmpty && key == nil }

    /// This finding counted in the "other" group of (rule, app, service): same counts, times,
    /// samples and twin counts, no operation, resource or key of its own.
    func overflow(app: String?, service: String) -> Finding {
        var f = Finding(rule: rule, severity: severity, confidence: confidence, service: service, operation: "",
                        resource: ReportLimits.other, key: nil, kind: ReportLimits.other, count: count,
                        firstSeen: firstSeen, lastSeen: lastSeen, samples: samples, app: app, twinSeen: twinSeen)
        f.fix = fix
        return f
    }
}
