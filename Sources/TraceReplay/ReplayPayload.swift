import Foundation
import HopByHop
import NIOCore
import AgentImitation
import TraceAnalysis
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

    /// Which captured requests to replay.
    public enum Selection: String, Sendable, CaseIterable {
        /// Every request `trace-compat audit` judges (the one default of `CaptureSet`).
        case all
        /// Only trace payloads (`/v0.N/traces`): the benchmark mixes.
        case traces
    }

    /// Loads the captured requests under each path (a file, a fixture folder, or a folder of
    /// fixture folders) with `CaptureSet`, the loader `trace-compat audit` uses: the same files,
    /// in the same order, with the same reading of `.headers.json` and the same defaults for a
    /// body without one (`POST /v0.4/traces` or `/v0.5/traces` as its name says, with
    /// `Content-Type: application/msgpack`). The agent's recorded answers (`*.response.json`) are
    /// not requests and are skipped. `name` is the file relative to the folder given.
    public static func load(_ paths: [String], selecting selection: Selection = .all) throws(ReplayError) -> [ReplayPayload] {
        var payloads: [ReplayPayload] = []
        for root in paths {
            let set: CaptureSet
            do {
                set = try CaptureSet.scan([root])
            } catch let error as CaptureSet.CaptureError {
                throw .unreadable(error.path, error.reason)
            } catch {
                throw .unreadable(root, "\(error)")
            }
            let prefix = root.hasSuffix("/") ? root : root + "/"
            for entry in set.entries {
                switch entry {
                case .request(let headers, let body):
                    let request: CapturedRequest
                    do {
                        request = try CaptureSet.load(headers: headers, body: body)
                    } catch {
                        throw .badHeaders(error.path, error.reason)
                    }
                    if selection == .traces && !Self.isTracePath(request.path) { continue }
                    let source = request.source
                    let name = source.hasPrefix(prefix) ? String(source.dropFirst(prefix.count)) : (source as NSString).lastPathComponent
                    payloads.append(ReplayPayload(name: name, method: request.method, path: request.path,
                                                  headers: request.headers.map { ($0.name, $0.value) }, body: request.body))
                case .agentInfo:
                    continue
                case .foreign(let path):
                    throw .unreadable(path, CaptureSet.notTrafficReason)
                }
            }
        }
        guard !payloads.isEmpty else { throw .noPayloads(paths) }
        return payloads
    }

    /// `/v0.N/traces`, with or without a query.
    static func isTracePath(_ path: String) -> Bool {
        let bare = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return bare.hasPrefix("/v0.") && bare.hasSuffix("/traces")
    }
}
