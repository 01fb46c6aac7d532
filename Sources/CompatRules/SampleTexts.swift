/// A sample's texts; the sink adds the span's ids, cuts the excerpt and drops it when redacting.
public struct SampleTexts {
    public var valueType: String?
    public var excerpt: String?
    public var operation: String?
    public init(valueType: String? = nil, excerpt: String? = nil, operation: String? = nil) {
        self.valueType = valueType; self.excerpt = excerpt; self.operation = operation
    }
}
