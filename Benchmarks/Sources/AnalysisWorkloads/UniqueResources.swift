import Foundation
import MessagePack
import TraceAnalysis

/// The cardinality replay: the captured Django payload with every span's resource made unique
/// even after normalisation (an identifier appended, which `ResourceShape` keeps), the worst case
/// for finding groups: what a hostile client, or SQL with generated table names, would send.
public enum UniqueResources {
    /// `count` copies of `request`'s payload, resources unique across all of them, each made
    /// just before `body` gets it (a replay holds one payload at a time, as the proxy would).
    public static func forEachPayload(from request: CapturedRequest, count: Int, _ body: (CapturedRequest) -> Void) {
        let value = request.body.withUnsafeBytes { try! MessagePackReader.decode($0) }
        var counter = 0
        for _ in 0..<count {
            var r = request
            r.body = MessagePackWriter.encode(unique(value, &counter))
            body(r)
        }
    }

    /// One payload of about `megabytes` MB: the captured traces repeated, every resource unique.
    public static func large(from request: CapturedRequest, megabytes: Int) -> CapturedRequest {
        guard case .array(let traces) = request.body.withUnsafeBytes({ try! MessagePackReader.decode($0) }) else { fatalError("not a v0.4 payload") }
        let copies = max(1, megabytes * 1_000_000 / request.body.count)
        var counter = 0
        var all: [MessagePackValue] = []
        for _ in 0..<copies { for t in traces { all.append(unique(t, &counter)) } }
        var r = request
        r.body = MessagePackWriter.encode(.array(all))
        return r
    }

    static func unique(_ value: MessagePackValue, _ counter: inout Int) -> MessagePackValue {
        switch value {
        case .array(let items): return .array(items.map { unique($0, &counter) })
        case .map(let entries):
            return .map(entries.map { k, v in
                if k == .string(Array("resource".utf8)), case .string(let s) = v {
                    counter += 1
                    return (k, .string(s + Array(" tbl\(counter)".utf8)))
                }
                return (k, unique(v, &counter))
            })
        default: return value
        }
    }
}
