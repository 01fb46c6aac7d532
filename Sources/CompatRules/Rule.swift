/// The vocabulary every v4 rule shares: how bad it is, how sure the wire makes us, what it reads.
/// (The id is `RuleID`, the rule itself a `CompatRule`, the list of rules `Rules`.)
///
/// The guide (`../shared/spec/ddtrace-v4-rules.md`, "Every finding the product reports carries"):
/// "a stable rule id, a severity (`breaks` — code fails or data is lost under v4; `changes` — v4
/// behaves differently by default; `check` — worth a look, may be fine), a confidence (`high`,
/// `medium`, `low`) … and the fix in one sentence."

/// How bad a finding is under v4. Ordered: `check` < `changes` < `breaks`.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    /// Worth a look, may be fine.
    case check
    /// v4 behaves differently by default.
    case changes
    /// Code fails or data is lost under v4.
    case breaks

    private var rank: Int { switch self { case .check: 0; case .changes: 1; case .breaks: 2 } }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

/// How sure the wire evidence makes us. Ordered: `low` < `medium` < `high`.
public enum Confidence: String, Sendable, Codable, CaseIterable, Comparable {
    case low, medium, high

    private var rank: Int { switch self { case .low: 0; case .medium: 1; case .high: 2 } }

    /// Its position in `allCases` (a code packed into a flagged entry), by a switch.
    @inlinable public var code: UInt8 { switch self { case .low: 0; case .medium: 1; case .high: 2 } }

    /// The confidence whose `code` is `code` (anything above 2 reads as high).
    @inlinable public init(code: UInt8) { self = code == 0 ? .low : code == 1 ? .medium : .high }
    public static func < (a: Confidence, b: Confidence) -> Bool { a.rank < b.rank }
}

/// What a rule reads on the wire: the analyzer's walk fills these facts, and the report's checklist
/// says "not observable" for a rule when none of its sources was seen.
public enum WireSource: String, Sendable, CaseIterable {
    /// Span fields and meta / metrics keys of Python trace payloads.
    case spans
    /// `meta_struct` of v0.4 spans (v0.5 cannot carry it).
    case structTags
    /// Instrumentation telemetry (`app-started`, `app-integrations-change`, `app-dependencies-loaded`).
    case telemetry
    /// Request headers of Python traffic (`Datadog-Meta-*`).
    case requestHeaders
    /// The agent's answers: `GET /info` and the `Datadog-Agent-Version` header.
    case agentAnswers
    /// LLM Observability events.
    case llmObs
}

/// How the CLI's summary line details a rule's findings.
public enum SummaryDetail: Sendable, Equatable {
    /// "keys: a, b, …" (the findings' `key`).
    case keys
    /// The findings' `key`s, unlabelled (settings, integrations, APIs).
    case names
    /// "versions: …" (the findings' `kind`).
    case versions
    /// "services: …".
    case services
    /// Counts per kind, in this order ("database 3, cache 1, template 0").
    case kinds([String])
}
