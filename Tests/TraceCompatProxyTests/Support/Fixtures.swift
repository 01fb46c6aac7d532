import Foundation

/// The captured traffic of `../shared/fixtures/<scenario>/`, located from this file.
struct FixtureRequest: Sendable {
    var scenario: String
    var name: String
    var method: String
    var path: String
    var headers: [(String, String)]
    var body: [UInt8]
}

enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // TraceCompatProxyTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // repository
        .deletingLastPathComponent()  // beside it: shared/
        .appendingPathComponent("shared/fixtures")

    static let scenarios = ["manual-v04", "manual-v05", "manual-v04-pywriter", "django-full-v04", "django-full-v05", "django-minimal-v04"]

    /// Every request of a scenario, in capture order.
    static func requests(_ scenario: String) throws -> [FixtureRequest] {
        let folder = root.appendingPathComponent(scenario)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".headers.json") }.sorted()
        return try names.map { name in
            let base = String(name.dropLast(".headers.json".count))
            let meta = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(name))) as! [String: Any]
            let headers = (meta["headers"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            let bodyFile = ["\(base).msgpack", "\(base).body.json"].map { folder.appendingPathComponent($0) }
                .first { FileManager.default.fileExists(atPath: $0.path) }
            let body = try bodyFile.map { try [UInt8](Data(contentsOf: $0)) } ?? []
            return FixtureRequest(scenario: scenario, name: base, method: meta["method"] as! String, path: meta["path"] as! String,
                                  headers: headers, body: body)
        }
    }
}
