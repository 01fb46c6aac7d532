/// Follows a chunked body (RFC 9112 §7.1) through the bytes as they are read, in either
/// direction, to find where it ends and which bytes are data (what analysis gets, de-chunked).
/// I/O-free and without allocation: the caller feeds each read and gets the data ranges of that
/// read back, so the bytes themselves can be relayed as they are.
///
/// Refused (the message cannot be read one way, RFC 9112 §7.1): a size that is not hexadecimal
/// or exceeds `Int.max` (llhttp: "Chunk size overflow"), a chunk extension that is not
/// `*( ";" token [ "=" ( token / quoted-string ) ] )` (§7.1.1 without its BWS: llhttp refuses
/// whitespace anywhere in a chunk-size line, and so does the proxy, which NIO made refuse it
/// before the byte relay) or longer than
/// `ProxyLimits.maxChunkLineBytes`, data not followed by CRLF, a trailer field that breaks the
/// field grammar (§7.1.2, §5) or a trailer section beyond `ProxyLimits.maxTrailerBytes`.
public struct ChunkedBodyScanner: Sendable, Equatable {
    public enum Progress: Equatable {
        /// Every byte fed was consumed; the body goes on in the next read.
        case needMore
        /// The body (trailer section included) ends at this offset of the bytes fed; what
        /// follows belongs to the next message.
        case end(at: Int)
        case invalid(HTTPSyntaxViolation)
    }

    enum State: Sendable, Equatable {
        case sizeStart
        case size
        /// After an extension's value: `;` or CR.
        case extensionSeparator
        case extensionNameStart
        case extensionName
        /// After an extension name: `=`, `;` or CR.
        case extensionAfterName
        case extensionValueStart
        case extensionToken
        case extensionQuoted
        case extensionQuotedPair
        case sizeLF
        case data
        case dataCR
        case dataLF
        case trailerLineStart
        case trailerName
        case trailerValue
        case trailerLF
        case finalLF
        case done
    }

    var state = State.sizeStart
    var size = 0
    /// Data bytes left in the current chunk.
    var remaining = 0
    /// Bytes of the current size line (size and extensions), bounded.
    var lineBytes = 0
    var trailerBytes = 0
    var lastChunk = false

    public init() {}

    /// True once the terminating empty line was read.
    public var isDone: Bool { state == .done }

    /// Feeds the next bytes of the body. `data` is called with each range of `bytes` that is
    /// chunk data, in order.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, data: (Range<Int>) -> Void) -> Progress {
        var i = 0
        let count = bytes.count
        while i < count {
            if state == .data {
                let n = min(remaining, count - i)
                data(i..<(i + n))
                remaining -= n
                i += n
                if remaining == 0 { state = .dataCR }
                continue
            }
            let b = bytes[i]
            i += 1
            if let violation = step(b) { return .invalid(violation) }
            if state == .done { return .end(at: i) }
        }
        return .needMore
    }

    /// One framing byte (everything but chunk data).
    private mutating func step(_ b: UInt8) -> HTTPSyntaxViolation? {
        switch state {
        case .sizeStart, .size, .extensionSeparator, .extensionNameStart, .extensionName, .extensionAfterName,
             .extensionValueStart, .extensionToken, .extensionQuoted, .extensionQuotedPair:
            lineBytes += 1
            if lineBytes > ProxyLimits.maxChunkLineBytes { return .chunkLineTooLong }
            return stepSizeLine(b)
        case .sizeLF:
            guard b == HTTPHeadSyntax.lf else { return .bareCR }
            lineBytes = 0
            if lastChunk {
                state = .trailerLineStart
            } else {
                remaining = size
                state = .data
            }
        case .data:
            preconditionFailure("data is consumed in bulk by feed")
        case .dataCR:
            guard b == HTTPHeadSyntax.cr else { return .chunkDataEnd }
            state = .dataLF
        case .dataLF:
            guard b == HTTPHeadSyntax.lf else { return .chunkDataEnd }
            size = 0
            state = .sizeStart
        case .trailerLineStart:
            if b == HTTPHeadSyntax.cr {
                state = .finalLF
                return nil
            }
            guard HTTPHeadSyntax.isToken(b) else { return .trailer }  // obs-fold, an empty name, a bare LF
            return countTrailer(then: .trailerName)
        case .trailerName:
            if b == UInt8(ascii: ":") { return countTrailer(then: .trailerValue) }
            guard HTTPHeadSyntax.isToken(b) else { return .trailer }
            return countTrailer(then: .trailerName)
        case .trailerValue:
            if b == HTTPHeadSyntax.cr { return countTrailer(then: .trailerLF) }
            guard HTTPHeadSyntax.isFieldValueByte(b) else { return .trailer }
            return countTrailer(then: .trailerValue)
        case .trailerLF:
            guard b == HTTPHeadSyntax.lf else { return .bareCR }
            return countTrailer(then: .trailerLineStart)
        case .finalLF:
            guard b == HTTPHeadSyntax.lf else { return .bareCR }
            state = .done
        case .done:
            preconditionFailure("no byte after the end of a chunked body")
        }
        return nil
    }

    private mutating func countTrailer(then next: State) -> HTTPSyntaxViolation? {
        trailerBytes += 1
        if trailerBytes > ProxyLimits.maxTrailerBytes { return .trailerTooLarge }
        state = next
        return nil
    }

    /// chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1, §7.1.1).
    private mutating func stepSizeLine(_ b: UInt8) -> HTTPSyntaxViolation? {
        switch state {
        case .sizeStart, .size:
            if let digit = Self.hexValue(b) {
                guard size <= (Int.max - digit) >> 4 else { return .chunkSizeOverflow }
                size = size << 4 + digit
                state = .size
                return nil
            }
            guard state == .size else { return .chunkSize }
            return endOfSize(b)
        case .extensionSeparator:
            return endOfSize(b)
        case .extensionNameStart:
            guard HTTPHeadSyntax.isToken(b) else { return .chunkExtension }
            state = .extensionName
        case .extensionName:
            if HTTPHeadSyntax.isToken(b) { return nil }
            state = .extensionAfterName
            return stepSizeLine(b)
        case .extensionAfterName:
            if b == UInt8(ascii: "=") {
                state = .extensionValueStart
                return nil
            }
            return endOfSize(b)
        case .extensionValueStart:
            if b == UInt8(ascii: "\"") {
                state = .extensionQuoted
                return nil
            }
            guard HTTPHeadSyntax.isToken(b) else { return .chunkExtension }
            state = .extensionToken
        case .extensionToken:
            if HTTPHeadSyntax.isToken(b) { return nil }
            state = .extensionSeparator
            return stepSizeLine(b)
        case .extensionQuoted:
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
            if b == UInt8(ascii: "\"") {
                state = .extensionSeparator
            } else if b == UInt8(ascii: "\\") {
                state = .extensionQuotedPair
            } else if !HTTPHeadSyntax.isFieldValueByte(b) {
                return .chunkExtension
            }
        case .extensionQuotedPair:
            guard HTTPHeadSyntax.isFieldValueByte(b) else { return .chunkExtension }
            state = .extensionQuoted
        default:
            preconditionFailure("not a size-line state")
        }
        return nil
    }

    /// After the size or an extension: `;` starts another extension, CR ends the line.
    private mutating func endOfSize(_ b: UInt8) -> HTTPSyntaxViolation? {
        if b == HTTPHeadSyntax.cr {
            lastChunk = size == 0
            state = .sizeLF
            return nil
        }
        if b == UInt8(ascii: ";") {
            state = .extensionNameStart
            return nil
        }
        return state == .size ? .chunkSize : .chunkExtension
    }

    @inline(__always) static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case 0x30...0x39: return Int(b - 0x30)
        case 0x41...0x46: return Int(b - 0x41 + 10)
        case 0x61...0x66: return Int(b - 0x61 + 10)
        default: return nil
        }
    }
}
