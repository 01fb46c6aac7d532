import CompatRules

/// What the rules recorded for one pair of `Datadog-Meta-*` values (`CompatRule.judgeHeaders`):
/// a function of the values alone, which repeat on every payload of an app, so the analyzer asks
/// the rules once per distinct pair and counts these records for every app of every payload sent
/// with it. Usually empty (nothing allocated then).
struct HeaderFindings: MessageSink {
    struct Record {
        var rule: RuleID
        var texts: FindingTexts
        /// The grouping key's hash of (`texts.key`, `texts.kind`).
        var keyHash: UInt64
    }

    let headers: MetaHeaders
    private(set) var records: [Record] = []

    /// The rules' findings for `headers`.
    init(judging headers: MetaHeaders) {
        self.headers = headers
        Rules.judgeHeaders(headers, into: &self)
    }

    mutating func recordMessage(_ rule: RuleID, service: String?, texts: FindingTexts) {
        records.append(Record(rule: rule, texts: texts, keyHash: byteHash((texts.key ?? "") + "\u{0}" + (texts.kind ?? ""))))
    }
}
