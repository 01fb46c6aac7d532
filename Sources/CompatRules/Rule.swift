/// The vocabulary every v4 rule shares: its stable id, how bad it is, how sure the wire makes us.
///
/// The guide (`../shared/spec/ddtrace-v4-rules.md`, "Every finding the product reports carries"):
/// "a stable rule id, a severity (`breaks` — code fails or data is lost under v4; `changes` — v4
/// behaves differently by default; `check` — worth a look, may be fine), a confidence (`high`,
/// `medium`, `low`) … and the fix in one sentence."

/// The stable id of a rule, as it appears in reports, CLI output and `--fail-on` decisions.
public enum RuleID: String, Sendable, Codable, CaseIterable, Comparable {
    case tagRepr = "V4-TAG-REPR"
    case tagNumeric = "V4-TAG-NUMERIC"
    case structTag = "V4-STRUCT-TAG"
    case djangoMinimal = "V4-DJANGO-MINIMAL"
    case python = "V4-PYTHON"
    case platform = "V4-PLATFORM"
    case agent = "V4-AGENT"
    case tracer = "V4-TRACER"
    case config = "V4-CONFIG"
    case integration = "V4-INTEGRATION"
    case openAIStream = "V4-OPENAI-STREAM"
    case removedAPI = "V4-REMOVED-API"

    /// A small number for hashing on hot paths (the declaration order).
    public var index: UInt8 { UInt8(RuleID.allCases.firstIndex(of: self)!) }

    public static func < (a: RuleID, b: RuleID) -> Bool { a.index < b.index }

    /// The rule's fixed description.
    public var rule: any CompatRule.Type {
        switch self {
        case .tagRepr: V4TagReprRule.self
        case .tagNumeric: V4TagNumericRule.self
        case .structTag: V4StructTagRule.self
        case .djangoMinimal: V4DjangoMinimalRule.self
        case .python: V4PythonRule.self
        case .platform: V4PlatformRule.self
        case .agent: V4AgentRule.self
        case .tracer: V4TracerRule.self
        case .config: V4ConfigRule.self
        case .integration: V4IntegrationRule.self
        case .openAIStream: V4OpenAIStreamRule.self
        case .removedAPI: V4RemovedAPIRule.self
        }
    }
}

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

/// What every rule type declares: its identity, texts, what it reads and how it is summarised.
/// Rules are stateless: the analyzer feeds them what it decoded and records what they return;
/// aggregation lives in `CompatReport`, which reads these declarations instead of switching on
/// rule ids.
public protocol CompatRule {
    static var id: RuleID { get }
    static var severity: Severity { get }
    /// The usual confidence; a rule may return another one per finding (see each rule).
    static var confidence: Confidence { get }
    /// One line: what was seen.
    static var title: String { get }
    /// One sentence: what to do.
    static var fix: String { get }
    /// Where it shows on the wire (for the report's checklist).
    static var evidence: String { get }
    /// What it reads: the checklist's "not observable" when none of it was seen.
    static var reads: Set<WireSource> { get }
    /// How the CLI's summary details its findings.
    static var summaryDetail: SummaryDetail { get }
}
