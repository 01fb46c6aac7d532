import CompatRules
import Foundation
import TracePayload

/// Captured traffic on disk, laid out like `../shared/fixtures/<scenario>/`:
/// `NNN-METHOD-path.headers.json` (`{"method", "path", "headers"}`) with the body beside it
/// (`.msgpack` for trace payloads, `.body.json` for telemetry and other JSON, `.bin` for anything),
/// optionally `NNN-GET-info.response.json` holding the agent's answer to `GET /info`.
/// A bare `*.msgpack` without headers is judged by its name (`…v0.4…` / `…v0.5…`), as Python:
/// `POST /v0.N/traces` with `Content-Type: application/msgpack` (without it the agent would decode
/// the body as JSON). Decoded copies (`X.json` beside `X.msgpack`) and `expected.json` are not
/// traffic and are skipped.
///
/// The one loader of captured traffic: `trace-compat audit` judges these requests and
/// `trace-replay` sends the same ones, in the same order (files in path order).
public struct CaptureSet: Sendable {
    /// One thing to judge, in file order; the body is read only when `load()` is called.
    public enum Entry: Sendable, Equatable {
        /// A request: its headers file (nil for a bare body) and body file.
        case request(headers: String?, body: String?)
        /// The agent's `/info` answer.
        case agentInfo(String)
        /// A file given explicitly that is not captured traffic.
        case foreign(String)
    }

    /// The endings of captured traffic's files: a request's headers, its body (trace payloads,
    /// telemetry and other JSON, anything), the agent's recorded `/info` answer.
    public static let headersSuffix = ".headers.json"
    public static let bodySuffixes = [".msgpack", ".body.json", ".bin"]
    public static let agentAnswerSuffix = ".response.json"

    /// The files read as captured traffic, as messages name them ("*.headers.json, *.msgpack,
    /// *.body.json, *.bin or *.response.json"): written from the endings above, so that every
    /// tool that says it (audit, trace-replay) says the same and what `scan` accepts.
    public static var acceptedFiles: String {
        let all = ([headersSuffix] + bodySuffixes + [agentAnswerSuffix]).map { "*" + $0 }
        return all.dropLast().joined(separator: ", ") + " or " + all.last!
    }

    /// Why a file named explicitly is not judged or replayed.
    public static var notTrafficReason: String { "not captured traffic (expected \(acceptedFiles))" }

    public var entries: [Entry] = []
    /// Total size of the bodies, for progress.
    public var totalBytes: Int = 0

    public init(entries: [Entry] = []) { self.entries = entries }

    /// Collects the entries of files and folders (folders recursively, in name order).
    public static func scan(_ paths: [String]) throws -> CaptureSet {
        var set = CaptureSet()
        let fm = FileManager.default
        for path in paths {
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
                throw CaptureError(path: path, reason: "no such file or folder", offset: 0)
            }
            if isDir.boolValue {
                var files: [String] = []
                if let e = fm.enumerator(atPath: path) {
                    for case let rel as String in e { files.append((path as NSString).appendingPathComponent(rel)) }
                }
                files = files.filter { var d: ObjCBool = false; return fm.fileExists(atPath: $0, isDirectory: &d) && !d.boolValue }
                set.add(files.sorted(), explicit: false)
            } else {
                set.add([path], explicit: true)
            }
        }
        set.totalBytes = set.entries.reduce(0) { total, entry in
            switch entry {
            case .request(_, let body?), .agentInfo(let body): return total + ((try? fm.attributesOfItem(atPath: body)[.size] as? Int) ?? 0)
            default: return total
            }
        }
        return set
    }

    mutating func add(_ files: [String], explicit: Bool) {
        let all = Set(files)
        let fm = FileManager.default
        for file in files {
            let name = (file as NSString).lastPathComponent
            if name.hasSuffix(Self.headersSuffix) {
                let base = String(file.dropLast(Self.headersSuffix.count))
                let body = Self.bodySuffixes.map { base + $0 }.first { all.contains($0) || fm.fileExists(atPath: $0) }
                entries.append(.request(headers: file, body: body))
            } else if name.hasSuffix(Self.agentAnswerSuffix) {
                entries.append(.agentInfo(file))
            } else if let suffix = Self.bodySuffixes.first(where: { name.hasSuffix($0) }) {
                let base = String(file.dropLast(suffix.count))
                let headers = base + Self.headersSuffix
                if all.contains(headers) { continue }  // judged with its headers
                if explicit && fm.fileExists(atPath: headers) { entries.append(.request(headers: headers, body: file)); continue }
                entries.append(.request(headers: nil, body: file))
            } else if explicit {
                entries.append(.foreign(file))
            }
            // Other files in a folder (decoded .json copies, expected.json, READMEs) are not traffic.
        }
    }

    public struct CaptureError: Error, Sendable, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var offset: Int
        public var description: String { "\(path): \(reason) (byte offset \(offset))" }
    }

    /// Reads one request entry into a `CapturedRequest`.
    public static func load(headers: String?, body: String?) throws(CaptureError) -> CapturedRequest {
        let bodyBytes: [UInt8]
        var receivedAt = Date()
        if let body {
            guard let data = FileManager.default.contents(atPath: body) else { throw CaptureError(path: body, reason: "cannot read the file", offset: 0) }
            bodyBytes = Array(data)
            if let m = try? FileManager.default.attributesOfItem(atPath: body)[.modificationDate] as? Date { receivedAt = m }
        } else {
            bodyBytes = []
        }
        guard let headers else {
            // A bare body: judged by its name.
            let file = body ?? ""
            let name = (file as NSString).lastPathComponent
            if name.hasSuffix(".msgpack") || name.hasSuffix(".bin") {
                guard let format = TraceFormat(fileName: name) else {
                    throw CaptureError(path: file, reason: "a .msgpack without .headers.json must name its format (v0.4 or v0.5) in its file name", offset: 0)
                }
                return CapturedRequest(method: "POST", path: "/\(format.rawValue)/traces", headers: [("Content-Type", "application/msgpack")],
                                       body: bodyBytes, receivedAt: receivedAt, source: file)
            }
            if name.contains("apmtelemetry") || name.contains("telemetry") {
                return CapturedRequest(method: "POST", path: "/telemetry/proxy/api/v2/apmtelemetry", headers: [], body: bodyBytes, receivedAt: receivedAt, source: file)
            }
            throw CaptureError(path: file, reason: "no .headers.json beside it, and its name does not say what it is", offset: 0)
        }
        guard let data = FileManager.default.contents(atPath: headers) else { throw CaptureError(path: headers, reason: "cannot read the file", offset: 0) }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw CaptureError(path: headers, reason: "not a JSON headers file (\(JSONField.describe(error)))",
                               offset: JSONSyntax.firstErrorOffset(Array(data)) ?? 0)
        }
        guard let root = object as? [String: Any], let path = root["path"] as? String else {
            throw CaptureError(path: headers, reason: "a headers file needs {\"method\", \"path\", \"headers\"}", offset: 0)
        }
        var list: [(name: String, value: String)] = []
        if let h = root["headers"] as? [String: Any] {
            for (k, v) in h.sorted(by: { $0.key < $1.key }) { list.append((k, v as? String ?? "\(v)")) }
        }
        if body == nil, let m = try? FileManager.default.attributesOfItem(atPath: headers)[.modificationDate] as? Date { receivedAt = m }
        return CapturedRequest(method: root["method"] as? String ?? "POST", path: path, headers: list, body: bodyBytes,
                               receivedAt: receivedAt, source: body ?? headers)
    }
}
