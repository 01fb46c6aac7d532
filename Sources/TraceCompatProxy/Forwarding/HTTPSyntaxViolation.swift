/// Why a head or a chunked body was refused by the proxy's own scanners (`RequestHeadScanner`,
/// `ResponseHeadScanner`, `ChunkedBodyScanner`), each with the rule it breaks. The raw value is
/// the sentence of the answer's `detail`.
public enum HTTPSyntaxViolation: String, Sendable, Equatable, Hashable, CaseIterable {
    case bareLF = "a line ends in LF without CR (RFC 9112 §2.2)"
    case bareCR = "a CR not followed by LF (RFC 9112 §2.2)"
    case headTooLarge = "the head is larger than the proxy reads (ProxyLimits.maxHeadBytes)"
    case tooManyFields = "more header fields than the proxy reads (ProxyLimits.maxHeaderFields)"
    case obsFold = "a folded header line (obs-fold, RFC 9112 §5.2)"
    case emptyFieldName = "a header field without a name (RFC 9112 §5.1)"
    case fieldNameNotToken = "a header field name that is not a token (RFC 9110 §5.1)"
    case whitespaceBeforeColon = "whitespace between a field name and its colon (RFC 9112 §5.1)"
    case fieldValueByte = "a control character in a header value (RFC 9110 §5.5)"
    case methodNotToken = "a method that is not a token followed by one space (RFC 9112 §3)"
    case unknownMethod = "a method the agent does not know (llhttp's method list)"
    case targetByte = "a request-target with a control character or space (RFC 9112 §3.2)"
    case targetForm = "a request-target that is neither origin-form, absolute-form nor * (RFC 9112 §3.2)"
    case version = "an HTTP version other than HTTP/1.0 or HTTP/1.1 (RFC 9112 §2.3)"
    case statusLine = "a status line that is not HTTP-version SP 3DIGIT SP reason (RFC 9112 §4)"
    case contentLength = "a Content-Length that is not one number of bytes (RFC 9112 §6.3, RFC 9110 §8.6)"
    case chunkSize = "a chunk size that is not hexadecimal (RFC 9112 §7.1)"
    case chunkSizeOverflow = "a chunk size beyond 2^63 (RFC 9112 §7.1)"
    case chunkExtension = "a malformed chunk extension (RFC 9112 §7.1.1)"
    case chunkLineTooLong = "a chunk-size line longer than the proxy reads (ProxyLimits.maxChunkLineBytes)"
    case chunkDataEnd = "chunk data not followed by CRLF (RFC 9112 §7.1)"
    case trailer = "a malformed trailer field (RFC 9112 §7.1.2)"
    case trailerTooLarge = "a trailer section larger than the proxy reads (ProxyLimits.maxTrailerBytes)"
    case switchingProtocols = "a 101 answer to a request that asked for no upgrade (RFC 9110 §15.2.2)"
}
