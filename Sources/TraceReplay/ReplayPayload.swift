import Foundation
import HopByHop
import NIOCore
import TracePayload

/// One captured request to replay: method, path, headers and body, laid out as the fixtures are
/// (`NNN-METHOD-name.msgpack` with `NNN-METHOD-name.headers.json` beside it).
public struct ReplayPayload: Sendable {
    /// The file the body came from, relative to the folder it was found in.
    public var name: String
    public var method: String
    public var path: String
    /// Captured headers, without those the replayer sets itself (host, content-length) and the
    /// hop-by-hop ones (connection, transfer-encoding, keep-alive…).
    public var headers: [(String, String)]
    public var body: ByteBuffer
    /// Spans in the body, counted once with `TracePayloadDecoder` (0 when it does not decode).
    public var spans: Int
    /// SHA-256 of the body, to check that the other end received it unaltered.
    public var sha256: String

    public init(name: String, method: String, path: String, headers: [(String, String)], body: [UInt8]) {
        self.name = name
        self.method = method
        self.path = path
        self.headers = headers.filter { !Self.replayerOwned.contains($0.0.lowercased()) }
        self.body = ByteBuffer(bytes: body)
        self.sha256 = SHA256.hex(body)
        var spans = 0
        if let format = TraceFormat(path: path) {
            var decoder = TracePayloadDecoder()
            spans = (try? decoder.visit(body, format: format) { _ in }.spans) ?? 0
        }
        self.spans = spans
    }

    /// Headers the replayer writes itself, or that belong to one hop only (RFC 9110 §7.6.1: the
    /// proxy's own list, `HopByHopHeaderNames`).
    static let replayerOwned = HopByHopHeaderNames.always.union(["host", "content-length", "trailer", "expect"])

    /// Loads every `*.msgpack` under each path (a file, a fixture folder, or a folder of fixture
    /// folders), in name order. A body without its `.headers.json` gets `PUT /v0.4/traces` or
    /// `/v0.5/traces` as its name says, with `Content-Type: application/msgpack`.
    public static func load(_ paths: [String]) throws(ReplayError) -> [ReplayPayload] {
        var files: [(path: String, name: String)] = []
        let fm = FileManager.default
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .unreadable(path, "no such file or directory") }
            if !isDirectory.boolValue { files.append((path, (path as NSString).lastPathComponent)); continue }
            guard let entries = fm.subpaths(atPath: path) else { throw .unreadable(path, "cannot list the folder") }
            files += entries.filter { $0.hasSuffix(".msgpack") }.sorted().map { ((path as NSString).appendingPathComponent($0), $0) }
        }
        guard !files.isEmpty else { throw .noPayloads(paths) }
        var payloads: [ReplayPayload] = []
        for file in files {
            payloads.append(try loadOne(file.path, name: file.name))
        }
        return payloads
    }

    static func loadOne(_ file: String, name: String) throws(ReplayError) -> ReplayPayload {
        guard let body = FileManager.default.contents(atPath: file) else { throw .unreadable(file, "cannot read the file") }
        let base = file.hasSuffix(".msgpack") ? String(file.dropLast(".msgpack".count)) : file
        let headersFile = base + ".headers.json"
        var method = "PUT"
        var path = TraceFormat(fileName: (file as NSString).lastPathComponent) == .v05 ? "/v0.5/traces" : "/v0.4/traces"
        var headers: [(String, String)] = [("Content-Type", "application/msgpack")]
        if let data = FileManager.default.contents(atPath: headersFile) {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw .badHeaders(headersFile, "not a JSON object")
            }
            guard let m = object["method"] as? String, let p = object["path"] as? String else {
                throw .badHeaders(headersFile, "needs \"method\" and \"path\" strings")
            }
            method = m
            path = p
            if let h = object["headers"] as? [String: Any] {
                headers = h.keys.sorted().compactMap { key in (h[key] as? String).map { (key, $0) } }
            }
        }
        return ReplayPayload(name: name, method: method, path: path, headers: headers, body: [UInt8](body))
    }
}
