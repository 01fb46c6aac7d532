import Foundation

/// What the rules read from one instrumentation-telemetry request
/// (`POST /telemetry/proxy/api/v2/apmtelemetry`).
///
/// Guide: "`request_type` `message-batch` wraps events: `app-started` has `payload.configuration[]`
/// with `name`, `value`, `origin`; `app-integrations-change` has `payload.integrations[]` with `name`,
/// `enabled`, `version`; every event has `application` with `language_version`, `tracer_version`,
/// `service_name`, `env`, and `host` with `os`, `kernel_*`." A single event (not a batch) carries the
/// same fields at the top level.
public struct TelemetryMessage: Sendable {
    public struct Application: Sendable, Equatable {
        public var serviceName = ""
        public var env = ""
        public var languageName = ""
        public var languageVersion = ""
        public var tracerVersion = ""
        public init() {}
    }

    public struct ConfigEntry: Sendable, Equatable {
        public var name: String
        /// The value as text (`true`, `v0.4`, `30`; JSON null as "").
        public var value: String
        public var origin: String
        public var seqID: Int
        public init(name: String, value: String, origin: String, seqID: Int = 0) {
            self.name = name; self.value = value; self.origin = origin; self.seqID = seqID
        }
    }

    public struct Integration: Sendable, Equatable {
        public var name: String
        public var enabled: Bool
        public var version: String
        public init(name: String, enabled: Bool, version: String = "") {
            self.name = name; self.enabled = enabled; self.version = version
        }
    }

    /// A package the app imported (`app-dependencies-loaded`).
    public struct Dependency: Sendable, Equatable {
        public var name: String
        public var version: String
        public init(name: String, version: String = "") { self.name = name; self.version = version }
    }

    public var application = Application()
    /// `request_type` of every event, in order (the batch itself excluded).
    public var eventTypes: [String] = []
    /// From `app-started` and `app-client-configuration-change`, in order.
    public var configuration: [ConfigEntry] = []
    public var integrations: [Integration] = []
    /// From `app-dependencies-loaded`: the packages the app imported, with their versions.
    public var dependencies: [Dependency] = []
    /// `tracer_time` (seconds since the epoch), 0 when absent.
    public var tracerTime: Double = 0

    public init() {}

    /// Why a body is not telemetry JSON, with the byte offset where the parser stopped (0 when the
    /// JSON parser does not say).
    public struct ParseError: Error, Sendable, CustomStringConvertible {
        public var reason: String
        public var offset: Int
        public var description: String { "\(reason) at byte offset \(offset)" }
    }

    public static func parse(_ body: [UInt8]) throws(ParseError) -> TelemetryMessage {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(body), options: [])
        } catch {
            throw ParseError(reason: "invalid JSON (\(JSONField.describe(error)))", offset: JSONSyntax.firstErrorOffset(body) ?? JSONField.errorOffset(error))
        }
        guard let root = object as? [String: Any] else {
            throw ParseError(reason: "telemetry body is not a JSON object", offset: 0)
        }
        var message = TelemetryMessage()
        if let app = root["application"] as? [String: Any] {
            message.application.serviceName = JSONField.string(app["service_name"]) ?? ""
            message.application.env = JSONField.string(app["env"]) ?? ""
            message.application.languageName = JSONField.string(app["language_name"]) ?? ""
            message.application.languageVersion = JSONField.string(app["language_version"]) ?? ""
            message.application.tracerVersion = JSONField.string(app["tracer_version"]) ?? ""
        }
        message.tracerTime = JSONField.double(root["tracer_time"]) ?? 0
        let type = JSONField.string(root["request_type"]) ?? ""
        if type == "message-batch" {
            for case let event as [String: Any] in (root["payload"] as? [Any]) ?? [] {
                message.add(event: JSONField.string(event["request_type"]) ?? "", payload: event["payload"])
            }
        } else {
            message.add(event: type, payload: root["payload"])
        }
        return message
    }

    mutating func add(event type: String, payload: Any?) {
        eventTypes.append(type)
        guard let payload = payload as? [String: Any] else { return }
        if let config = payload["configuration"] as? [Any] {
            for case let entry as [String: Any] in config {
                guard let name = JSONField.string(entry["name"]) else { continue }
                configuration.append(ConfigEntry(
                    name: name, value: JSONField.text(entry["value"]), origin: JSONField.string(entry["origin"]) ?? "",
                    seqID: Int(JSONField.double(entry["seq_id"]) ?? 0)))
            }
        }
        if let list = payload["dependencies"] as? [Any] {
            for case let entry as [String: Any] in list {
                guard let name = JSONField.string(entry["name"]) else { continue }
                dependencies.append(Dependency(name: name, version: JSONField.string(entry["version"]) ?? ""))
            }
        }
        if let list = payload["integrations"] as? [Any] {
            for case let entry as [String: Any] in list {
                guard let name = JSONField.string(entry["name"]) else { continue }
                integrations.append(Integration(
                    name: name, enabled: JSONField.bool(entry["enabled"]) ?? false, version: JSONField.string(entry["version"]) ?? ""))
            }
        }
    }

    /// The effective entry per setting: the highest `seq_id` wins, then the later one.
    public var effectiveConfiguration: [String: ConfigEntry] {
        var out: [String: ConfigEntry] = [:]
        for entry in configuration {
            if let old = out[entry.name], old.seqID > entry.seqID { continue }
            out[entry.name] = entry
        }
        return out
    }
}

/// Reading loosely typed JSON (JSONSerialization) without caring how a platform bridges numbers.
public enum JSONField {
    public static func string(_ v: Any?) -> String? {
        if let s = v as? String { return s }
        return nil
    }

    public static func bool(_ v: Any?) -> Bool? {
        switch v {
        case let n as NSNumber where isBoolean(n): return n.boolValue
        case let b as Bool: return b
        case let s as String: return s == "true" || s == "True" ? true : (s == "false" || s == "False" ? false : nil)
        default: return nil
        }
    }

    /// JSONSerialization hands JSON booleans out as NSNumber's boolean subclass.
    static func isBoolean(_ n: NSNumber) -> Bool {
        String(describing: type(of: n)).contains("Boolean")
    }

    public static func double(_ v: Any?) -> Double? {
        switch v {
        case let d as Double: return d
        case let i as Int: return Double(i)
        case let n as NSNumber: return n.doubleValue
        case let s as String: return Double(s)
        default: return nil
        }
    }

    /// Any scalar as text, the way a person would write it (true, 30, 1.0, v0.4); null as "".
    public static func text(_ v: Any?) -> String {
        switch v {
        case nil, is NSNull: return ""
        case let s as String: return s
        case let n as NSNumber: return isBoolean(n) ? (n.boolValue ? "true" : "false") : n.stringValue
        case let b as Bool: return b ? "true" : "false"
        default: return String(describing: v!)
        }
    }

    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let d = ns.userInfo[NSDebugDescriptionErrorKey] as? String { return d }
        return ns.localizedDescription
    }

    /// The byte index JSONSerialization reports, when it does.
    public static func errorOffset(_ error: Error) -> Int {
        let ns = error as NSError
        if let i = ns.userInfo["NSJSONSerializationErrorIndex"] as? Int { return i }
        return 0
    }
}
