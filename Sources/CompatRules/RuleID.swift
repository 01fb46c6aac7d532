/// The stable id of a rule, as it appears in reports, CLI output and `--fail-on` decisions.
///
/// Each rule declares its own (`CompatRule.id`, a string literal in the rule's file); the set of
/// ids is the registry's (`Rules`), not a list kept here, so adding a rule edits nothing in this
/// file. The ids are part of the report's JSON schema (`docs/report-schema.md`): a report file
/// naming an id no registered rule has is refused when read, as before, and a test holds the
/// registry and the rules table of `docs/rules.md` to the same list.
///
/// A plain value (the literal's address and a hash, nothing reference-counted): span rules pass
/// their id with every finding they record and every note they keep, so it must cost no more to
/// copy than the enum it replaces (measured: a `String` here cost 2–8 % of a payload's analysis,
/// `make bench-analysis-instructions`).
public struct RuleID: RawRepresentable, Hashable, Sendable, Comparable, CaseIterable, Codable,
    ExpressibleByStringLiteral, CustomStringConvertible {
    /// The id as the rule's file spells it.
    public let name: StaticString
    /// A 64-bit hash of the id (FNV-1a), made once: what equality, hashing and the analyzer's
    /// grouping keys use (`RuleRegistryTests` checks the registered ids' codes are distinct, and
    /// no other id can be made: `init(rawValue:)` accepts registered ids only).
    public let code: UInt64

    /// A rule's own declaration (`public static let id: RuleID = "V4-…"`); not checked against
    /// the registry here, the registry's tests do.
    public init(stringLiteral value: StaticString) {
        name = value
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        value.withUTF8Buffer { for b in $0 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 } }
        code = h
    }

    /// The id of a registered rule, or nil (reading reports, rule names on a command line).
    public init?(rawValue: String) {
        guard let id = Rules.byName[rawValue] else { return nil }
        self = id
    }

    public var rawValue: String { name.description }

    /// Every registered rule's id, in the registry's order.
    public static var allCases: [RuleID] { Rules.ids }

    /// The rule's fixed description (texts, severity, what it reads).
    public var rule: any CompatRule.Type {
        guard let r = Rules.byID[self] else { preconditionFailure("\(name) is not in the Rules registry") }
        return r
    }

    public var description: String { rawValue }

    /// The registry's order (reports list rules in it).
    public static func < (a: RuleID, b: RuleID) -> Bool {
        let ia = Rules.order[a] ?? Int.max, ib = Rules.order[b] ?? Int.max
        return ia != ib ? ia < ib : a.rawValue < b.rawValue
    }

    public static func == (a: RuleID, b: RuleID) -> Bool { a.code == b.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let id = RuleID(rawValue: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown rule id \(text)")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
