import MessagePack

/// A span remembered until the end of its trace, for rules that relate spans (`CompatRule.traceEnded`).
public struct TraceNote {
    public var rule: RuleID
    public var spanID: UInt64
    public var parentID: UInt64
    public var name: ByteView
    public var resource: ByteView
    /// The finding group the span counted in, or -1.
    public var group: Int
    public init(rule: RuleID, spanID: UInt64, parentID: UInt64, name: ByteView, resource: ByteView, group: Int) {
        self.rule = rule; self.spanID = spanID; self.parentID = parentID; self.name = name; self.resource = resource; self.group = group
    }
}
