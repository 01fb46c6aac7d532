import NIOHTTP1
import TraceAnalysis

/// How a request's body is delimited, decided once from its head, or why the proxy refuses it.
///
/// A proxy that reads a body one way while the agent reads it another lets the remainder be
/// parsed as a second request on a pooled connection whose answer goes to another client
/// (request smuggling, RFC 9112 §11.2). So the proxy forwards only heads whose framing has one
/// reading, declares that framing itself on the agent hop (`HopByHopHeaders.forwarded`), and
/// refuses the rest, closing the connection after the refusal (RFC 9112 §6.1, §6.3):
///
/// | shape | answer | why |
/// |---|---|---|
/// | `CONNECT` | 405 | a tunnel the agent has no use for (RFC 9110 §9.3.6) |
/// | `TRACE` with a body | 405 | "A client MUST NOT send content in a TRACE request" (RFC 9110 §9.3.8); NIO's encoder strips its framing |
/// | no `Host`, or more than one (HTTP/1.1) | 400 | RFC 9112 §3.2 |
/// | `Transfer-Encoding` on HTTP/1.0 | 400 | "MUST treat the message as if the framing is faulty" (RFC 9112 §6.1) |
/// | `Transfer-Encoding` and `Content-Length` | 400 | RFC 9112 §6.1 (a server MAY reject; the connection MUST close) |
/// | `chunked` not the final coding | 400 | RFC 9112 §6.3 item 4 |
/// | any coding besides a single `chunked` (`gzip, chunked`) | 501 | RFC 9112 §6.1; nginx does the same |
/// | more than one `Content-Length` value, or one that is not `1*DIGIT` | 400 | RFC 9112 §6.3 item 5, RFC 9110 §8.6 |
/// | a header value holding CR or LF (obs-fold, RFC 9112 §5.2) | 400 | the agent may unfold it differently |
public enum RequestFraming: Sendable, Equatable {
    /// No body (RFC 9112 §6.3 item 7: a request with neither header has none).
    case none
    case contentLength(Int)
    case chunked

    /// Why a request is refused: the outcome (status) and a sentence for the answer's `detail`.
    public struct Refusal: Sendable, Equatable, Error {
        public let outcome: ProxyOutcome
        public let reason: String
    }

    /// The framing of a request with this method, version and headers, or why it is refused.
    public static func decide(method: HTTPMethod, version: HTTPVersion, headers: HTTPHeaders) -> Result<RequestFraming, Refusal> {
        func refuse(_ outcome: ProxyOutcome, _ reason: String) -> Result<RequestFraming, Refusal> {
            .failure(Refusal(outcome: outcome, reason: reason))
        }
        if method == .CONNECT { return refuse(.methodNotAllowed, "CONNECT is not forwarded to the agent (RFC 9110 §9.3.6)") }
        let http11 = (version.major, version.minor) >= (1, 1)
        var hosts = 0
        // Content-Length values (a list value counts each element) and the first one: no array
        // for the usual single value, this runs for every request.
        var lengthCount = 0
        var firstLength: Substring?
        var codings: [String] = []
        var hasTransferEncoding = false
        for (name, value) in headers {
            if value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
                return refuse(.badRequest, "header \(name) spans lines (obs-fold, RFC 9112 §5.2)")
            }
            // Names compared without lowercased copies: this runs for every request.
            switch name.utf8.count {
            case 4 where CapturedRequest.asciiCaseInsensitiveEquals("host", name):
                hosts += 1
            case 14 where CapturedRequest.asciiCaseInsensitiveEquals("content-length", name):
                lengthCount += 1 + value.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: ",") ? 1 : 0) }
                if firstLength == nil { firstLength = value[...] }  // used only when it is the one value (no comma)
            case 17 where CapturedRequest.asciiCaseInsensitiveEquals("transfer-encoding", name):
                hasTransferEncoding = true
                codings += value.split(separator: ",", omittingEmptySubsequences: false).map { trimmedOWS($0).lowercased() }
            default:
                break
            }
        }
        if hosts > 1 || (hosts == 0 && http11) {
            return refuse(.badRequest, "an HTTP/1.1 request needs exactly one Host header (RFC 9112 §3.2), got \(hosts)")
        }
        let framing: RequestFraming
        if hasTransferEncoding {
            if !http11 { return refuse(.badRequest, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)") }
            if lengthCount > 0 { return refuse(.badRequest, "both Transfer-Encoding and Content-Length (RFC 9112 §6.1)") }
            if codings.last != "chunked" { return refuse(.badRequest, "chunked is not the final transfer coding (RFC 9112 §6.3)") }
            if codings != ["chunked"] {
                return refuse(.unsupportedTransferCoding, "transfer coding '\(codings.joined(separator: ", "))' is not supported: only chunked (RFC 9112 §6.1)")
            }
            framing = .chunked
        } else if lengthCount == 0 {
            framing = .none
        } else {
            guard lengthCount == 1, let first = firstLength else { return refuse(.badRequest, "more than one Content-Length (RFC 9112 §6.3)") }
            let text = trimmedOWS(first)
            guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text) else {
                return refuse(.badRequest, "Content-Length '\(text)' is not a number of bytes (RFC 9110 §8.6)")
            }
            framing = length == 0 ? .none : .contentLength(length)
        }
        if method == .TRACE, framing != .none {
            return refuse(.methodNotAllowed, "TRACE with a body (RFC 9110 §9.3.8)")
        }
        return .success(framing)
    }
}

