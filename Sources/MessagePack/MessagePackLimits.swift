/// Bounds applied while reading, so that hostile input costs at most linear time and no memory.
///
/// Lengths are also always checked against the bytes left in the input before anything is read or
/// reserved, so a 4 GiB declared string in a 100-byte payload fails at once.
public struct MessagePackLimits: Sendable, Equatable {
    /// Deepest container nesting accepted. msgpack-c's unpacker stops at 32 (its embedded
    /// stack), so 32 keeps both decoders in agreement; Datadog payloads need 4.
    public var maxDepth: Int
    /// Most elements (array) or entries (map) one container may declare.
    public var maxContainerCount: Int
    /// Most bytes one str, bin or ext may declare.
    public var maxByteLength: Int

    public init(maxDepth: Int = 32, maxContainerCount: Int = 1 << 24, maxByteLength: Int = 1 << 28) {
        self.maxDepth = maxDepth
        self.maxContainerCount = maxContainerCount
        self.maxByteLength = maxByteLength
    }

    public static let `default` = MessagePackLimits()
}
