/// An agent version the proxy saw on an answer it relayed (or an audit read from a capture).
public struct AgentAnswer: Sendable, Equatable {
    /// Where the version was read.
    public enum Source: Sendable, Equatable {
        /// The `version` of a `GET /info` answer.
        case info
        /// The `Datadog-Agent-Version` header the Agent's trace receiver sets on every answer
        /// (spec revision "Agent version on every answer").
        case header
    }
    /// The version as sent ("" when the answer had none).
    public var version: String
    public var source: Source
    public init(version: String, source: Source) { self.version = version; self.source = source }
}
