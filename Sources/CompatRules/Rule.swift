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

/// What every rule type declares. Rules are stateless: the analyzer feeds them what it decoded and
/// records what they return; aggregation lives in `CompatReport`.
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
}
