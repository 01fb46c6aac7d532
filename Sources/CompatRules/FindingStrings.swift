/// A new group's strings, made once by the sink (the resource normalised).
public struct FindingStrings {
    public var service: String
    public var operation: String
    public var resource: String
    public var key: String
    public init(service: String, operation: String, resource: String, key: String) {
        self.service = service; self.operation = operation; self.resource = resource; self.key = key
    }
}
