import Foundation

/// The agent's answer to `GET /info`: what V4-AGENT reads (`version`) and what the report shows.
public struct AgentInfo: Sendable, Equatable {
    public var version: String
    public var endpoints: [String]

    public init(version: String, endpoints: [String] = []) {
        self.version = version
        self.endpoints = endpoints
    }

    public static func parse(_ body: [UInt8]) throws(TelemetryMessage.ParseError) -> AgentInfo {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw TelemetryMessage.ParseError(reason: "invalid /info JSON (\(JSONField.describe(error)))", offset: JSONSyntax.firstErrorOffset(body) ?? JSONField.errorOffset(error))
        }
        guard let root = object as? [String: Any] else {
            throw TelemetryMessage.ParseError(reason: "/info answer is not a JSON object", offset: 0)
        }
        return AgentInfo(
            version: JSONField.string(root["version"]) ?? "",
            endpoints: (root["endpoints"] as? [Any])?.compactMap { $0 as? String } ?? [])
    }
}
