/// A new finding's texts beyond the rule's fixed ones (nil: the rule's own, or none).
public struct FindingTexts {
    /// The finding's `key` when it is not the grouping key's text (an integration's or API's name).
    public var key: String?
    public var kind: String?
    public var severity: Severity?
    public var confidence: Confidence?
    public var fix: String?
    public var evidence: String?
    /// V4-DJANGO-MINIMAL database groups start at 0 (`FindingSink.addTwin` counts).
    public var twinSeen: Int?
    public init(key: String? = nil, kind: String? = nil, severity: Severity? = nil, confidence: Confidence? = nil,
                fix: String? = nil, evidence: String? = nil, twinSeen: Int? = nil) {
        self.key = key; self.kind = kind; self.severity = severity; self.confidence = confidence
        self.fix = fix; self.evidence = evidence; self.twinSeen = twinSeen
    }
}
