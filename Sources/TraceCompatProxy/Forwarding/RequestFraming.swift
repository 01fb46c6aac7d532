
/// How a request's body is delimited, decided once from its head, or why the proxy refuses it.
///
/// A proxy that reads a body one way while the agent reads it another lets the remainder be
/// parsed as a second request on a pooled connection whose answer goes to another client
/// (request smuggling, RFC 9112 §11.2). So the proxy forwards only heads whose framing has one
/// reading, declares that framing itself on the agent hop (`UpstreamRequestHead`), and
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

    /// The framing headers of one head, counted as its fields go by: the one place where the
    /// rules of the table above are decided, for the bytes the relay scans
    /// (`RequestHeadScanner`) and, in the tests, for NIO's decoded heads (the reference
    /// `decide(method:version:headers:)` in `DecodedHeadersReference.swift`). Nothing is
    /// allocated for a tracer's usual head (one `Host`, one `Content-Length`).
    struct Tally {
        var hosts = 0
        /// Content-Length values (a list value counts each element).
        var lengthCount = 0
        /// The first Content-Length value when it is one number, else its text for the refusal.
        var firstLength: Int?
        var firstLengthText: String?
        var hasTransferEncoding = false
        var codingCount = 0
        var lastCodingIsChunked = false
        /// The codings, lower-cased, for the 501's sentence.
        var codings: [String] = []

        static func refuse(_ outcome: ProxyOutcome, _ reason: String) -> Result<RequestFraming, Refusal> {
            .failure(Refusal(outcome: outcome, reason: reason))
        }

        /// Counts one field (name and value without surrounding whitespace).
        mutating func add(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
            let whole = 0..<name.count
            switch name.count {
            case 4 where HTTPHeadSyntax.equalsIgnoringCase(name, whole, "host"):
                hosts += 1
            case 14 where HTTPHeadSyntax.equalsIgnoringCase(name, whole, "content-length"):
                var elements = 0
                HTTPHeadSyntax.forEachListElement(value, 0..<value.count) { _ in elements += 1 }
                if lengthCount == 0, elements == 1 {
                    var lo = 0, hi = value.count
                    while lo < hi, HTTPHeadSyntax.isWhitespace(value[lo]) { lo += 1 }
                    while hi > lo, HTTPHeadSyntax.isWhitespace(value[hi - 1]) { hi -= 1 }
                    firstLength = HTTPHeadSyntax.decimalLength(value, lo..<hi)
                    if firstLength == nil { firstLengthText = String(decoding: UnsafeRawBufferPointer(rebasing: value[lo..<hi]), as: UTF8.self) }
                }
                lengthCount += elements
            case 17 where HTTPHeadSyntax.equalsIgnoringCase(name, whole, "transfer-encoding"):
                hasTransferEncoding = true
                HTTPHeadSyntax.forEachListElement(value, 0..<value.count) { element in
                    codingCount += 1
                    lastCodingIsChunked = HTTPHeadSyntax.equalsIgnoringCase(value, element, "chunked")
                    codings.append(String(decoding: UnsafeRawBufferPointer(rebasing: value[element]), as: UTF8.self).lowercased())
                }
            default:
                break
            }
        }

        /// The framing once every field was counted, or why the request is refused.
        func decide(http11: Bool, isTrace: Bool) -> Result<RequestFraming, Refusal> {
            if hosts > 1 || (hosts == 0 && http11) {
                return Self.refuse(.badRequest, "an HTTP/1.1 request needs exactly one Host header (RFC 9112 §3.2), got \(hosts)")
            }
            let framing: RequestFraming
            if hasTransferEncoding {
                if !http11 { return Self.refuse(.badRequest, "Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)") }
                if lengthCount > 0 { return Self.refuse(.badRequest, "both Transfer-Encoding and Content-Length (RFC 9112 §6.1)") }
                if !lastCodingIsChunked { return Self.refuse(.badRequest, "chunked is not the final transfer coding (RFC 9112 §6.3)") }
                if codingCount != 1 {
                    return Self.refuse(.unsupportedTransferCoding, "transfer coding '\(codings.joined(separator: ", "))' is not supported: only chunked (RFC 9112 §6.1)")
                }
                framing = .chunked
            } else if lengthCount == 0 {
                framing = .none
            } else {
                guard lengthCount == 1 else { return Self.refuse(.badRequest, "more than one Content-Length (RFC 9112 §6.3)") }
                guard let length = firstLength else {
                    return Self.refuse(.badRequest, "Content-Length '\(firstLengthText ?? "")' is not a number of bytes (RFC 9110 §8.6)")
                }
                framing = length == 0 ? .none : .contentLength(length)
            }
            if isTrace, framing != .none {
                return Self.refuse(.methodNotAllowed, "TRACE with a body (RFC 9110 §9.3.8)")
            }
            return .success(framing)
        }
    }
}

