import CompatRules

/// One rule's findings taken together: the unit every renderer shows, because one fix per rule
/// resolves all of its findings (one setting brings back every Django span, whatever the query).
///
/// The vocabulary of every renderer: a *finding* is one group (rule, app, service, operation,
/// resource, key, kind); its *occurrences* are the spans that showed it, or the requests (headers,
/// telemetry messages, `/info` answers) for the rules that read no spans.
struct RuleFindings {
    let rule: RuleID
    /// The highest severity among the findings (a rule may raise it per finding).
    let severity: Severity
    /// In report order (count, largest first).
    let findings: [Finding]
    let occurrences: Int
    let unit: OccurrenceUnit

    var groups: Int { findings.count }

    /// The fixes that differ from the rule's own (V4-CONFIG names the setting), in first-seen order.
    var specificFixes: [String] {
        NSOrderedSetLike(findings.map(\.fix)).filter { $0 != rule.rule.fix }
    }

    /// True when one fix resolves every finding: they share one text, or the rule's own fix covers
    /// every kind (V4-DJANGO-MINIMAL: `DD_DJANGO_TRACING_MINIMAL=false` brings back all its spans,
    /// whatever the narrower per-kind settings).
    var oneFix: Bool { Set(findings.map(\.fix)).count == 1 || rule == .djangoMinimal }

    init(rule: RuleID, findings: [Finding]) {
        self.rule = rule
        self.findings = findings
        self.severity = findings.map(\.severity).max() ?? rule.rule.severity
        self.occurrences = findings.reduce(0) { $0 + $1.count }
        self.unit = OccurrenceUnit(rule: rule, findings: findings)
    }

    /// The report's findings by rule, in the report's order (severity, then rule).
    static func of(_ findings: [Finding]) -> [RuleFindings] {
        var order: [RuleID] = []
        var byRule: [RuleID: [Finding]] = [:]
        for f in findings {
            if byRule[f.rule] == nil { order.append(f.rule) }
            byRule[f.rule, default: []].append(f)
        }
        return order.map { RuleFindings(rule: $0, findings: byRule[$0] ?? []) }
    }

    /// "1 finding, 69 spans" or, when one fix covers several findings, "one fix for 11 findings, 69 spans".
    var countsText: String {
        let g = groups == 1 ? "1 finding" : "\(groups) findings"
        let lead = groups > 1 && oneFix ? "one fix for \(g)" : g
        return "\(lead), \(unit.text(occurrences))"
    }
}

/// What a finding's count counts.
enum OccurrenceUnit: Equatable {
    /// Spans (the rule reads span fields, tags or struct tags).
    case spans
    /// Requests: headers, telemetry messages, `/info` answers.
    case requests
    /// A rule that reads both (V4-INTEGRATION, V4-OPENAI-STREAM) whose findings came from both.
    case occurrences

    /// Per rule from what it reads; a rule reading both is per finding (a finding on an operation
    /// came from spans).
    init(rule: RuleID, findings: [Finding]) {
        let spanSources: Set<WireSource> = [.spans, .structTags]
        let reads = rule.rule.reads
        if reads.isSubset(of: spanSources) { self = .spans; return }
        if reads.isDisjoint(with: spanSources) { self = .requests; return }
        let fromSpans = Set(findings.map { !$0.operation.isEmpty })
        self = fromSpans == [true] ? .spans : fromSpans == [false] ? .requests : .occurrences
    }

    var plural: String {
        switch self {
        case .spans: "spans"
        case .requests: "requests"
        case .occurrences: "occurrences"
        }
    }

    func text(_ n: Int) -> String {
        n == 1 ? "1 " + String(plural.dropLast()) : "\(n) \(plural)"
    }
}
