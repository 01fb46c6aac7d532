import ASCIICase

/// The byte grammar that request and response heads share (RFC 9112 §2.2, §5; RFC 9110 §5.5,
/// §5.6.2), checked over the bytes as read, without a `String` per header.
///
/// The byte relay forwards a head as the client (or the agent) sent it, so the proxy must refuse
/// every head that another parser could read differently: a bare CR or LF (RFC 9112 §2.2 lets a
/// recipient treat a lone LF as a line end, the agent's Go parser does, llhttp does not), a folded
/// line (obs-fold, §5.2), whitespace between a field name and its colon (§5.1: "MUST reject"),
/// a control character in a value (§5.5: NUL, CR, LF are invalid and the others are refused
/// here as nginx does). Each refusal names its rule (`HTTPSyntaxViolation`).
enum HTTPHeadSyntax {
    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let sp: UInt8 = 0x20
    static let htab: UInt8 = 0x09

    /// tchar (RFC 9110 §5.6.2): `!#$%&'*+-.^_`|~`, digits and letters, as a bitmap of the 128
    /// ASCII bytes in two words (no other byte is a tchar). Constants in the function, not a
    /// table: a `static let` array is a lazily initialised global whose accessor calls
    /// `swift_once`, and it ran for every byte of every field name, ~300 calls per request on the
    /// event loop (the head scan) and again wherever a head's fields are walked with their checks.
    @inline(__always) static func isToken(_ b: UInt8) -> Bool {
        let low: UInt64 = 0x03FF_6CFA_0000_0000   // 0x00-0x3F: ! # $ % & ' * + - . 0-9
        let high: UInt64 = 0x57FF_FFFF_C7FF_FFFE  // 0x40-0x7F: A-Z ^ _ ` a-z | ~
        let word = b < 64 ? low : b < 128 ? high : 0
        return (word >> UInt64(b & 63)) & 1 != 0
    }

    /// field-vchar / SP / HTAB (RFC 9110 §5.5): VCHAR, obs-text (0x80-0xFF), SP, HTAB.
    @inline(__always) static func isFieldValueByte(_ b: UInt8) -> Bool {
        b >= 0x20 ? b != 0x7F : b == htab
    }

    @inline(__always) static func isWhitespace(_ b: UInt8) -> Bool { b == sp || b == htab }

    /// Where a head ends, looked for from `from` (where the last search stopped: a trickled head
    /// is not scanned again from its start).
    enum HeadEnd: Equatable {
        /// The offset just past the empty line (CRLF CRLF) that ends the head.
        case end(Int)
        /// Not complete yet: search again from this offset once more bytes arrived.
        case needMore(resumeAt: Int)
        case invalid(HTTPSyntaxViolation)
    }

    /// The end of the head that starts at `start`, checking on the way that every CR is followed
    /// by LF and every LF preceded by CR (RFC 9112 §2.2), and that the head fits in `limit`.
    static func headEnd(_ bytes: UnsafeRawBufferPointer, start: Int, from: Int, limit: Int) -> HeadEnd {
        var i = max(from, start)
        let count = bytes.count
        while i < count {
            let b = bytes[i]
            if b == lf {
                guard i > start, bytes[i - 1] == cr else { return .invalid(.bareLF) }
                // CRLF CRLF: the empty line.
                if i - start >= 3, bytes[i - 2] == lf { return i + 1 - start > limit ? .invalid(.headTooLarge) : .end(i + 1) }
            } else if b == cr {
                if i + 1 < count, bytes[i + 1] != lf { return .invalid(.bareCR) }
            }
            i += 1
            if i - start > limit { return .invalid(.headTooLarge) }
        }
        // Resume at the last byte: it may be the CR of a CRLF whose LF has not arrived.
        return .needMore(resumeAt: max(start, count - 1))
    }

    /// Calls `field` with each field line's name and value ranges (the value without the optional
    /// whitespace around it, RFC 9112 §5.1), for the lines from `from` up to `end` (the offset of
    /// the empty line's CR). Stops at the first violation, or when `field` returns one.
    static func forEachField(
        _ bytes: UnsafeRawBufferPointer, from: Int, end: Int, maxFields: Int,
        _ field: (Range<Int>, Range<Int>) -> HTTPSyntaxViolation?
    ) -> HTTPSyntaxViolation? {
        var i = from
        var fields = 0
        while i < end {
            // Line boundaries were checked by `headEnd`: every CR here is followed by LF.
            let first = bytes[i]
            if isWhitespace(first) { return .obsFold }
            let nameStart = i
            while i < end, isToken(bytes[i]) { i += 1 }
            guard i < end, bytes[i] == UInt8(ascii: ":") else {
                if i < end, isWhitespace(bytes[i]) { return .whitespaceBeforeColon }
                return i == nameStart ? .emptyFieldName : .fieldNameNotToken
            }
            if i == nameStart { return .emptyFieldName }
            let name = nameStart..<i
            i += 1
            while i < end, isWhitespace(bytes[i]) { i += 1 }
            let valueStart = i
            var valueEnd = i
            while i < end, bytes[i] != cr {
                let b = bytes[i]
                guard isFieldValueByte(b) else { return .fieldValueByte }
                i += 1
                if !isWhitespace(b) { valueEnd = i }
            }
            i += 2  // CRLF
            fields += 1
            if fields > maxFields { return .tooManyFields }
            if let violation = field(name, valueStart..<valueEnd) { return violation }
        }
        return nil
    }

    /// True when `bytes[range]` equals `lowercase` (given in lower case) ignoring ASCII case
    /// (`ASCIICase`, the compare the analysis uses too).
    @inline(__always)
    static func equalsIgnoringCase(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ lowercase: StaticString) -> Bool {
        ASCIICase.equals(UnsafeRawBufferPointer(rebasing: bytes[range]), lowercased: lowercase)
    }

    /// Calls `element` with each element of a comma-separated list value (RFC 9110 §5.6.1),
    /// optional whitespace removed; empty elements included, as `RequestFraming` counts them.
    static func forEachListElement(_ bytes: UnsafeRawBufferPointer, _ value: Range<Int>, _ element: (Range<Int>) -> Void) {
        var start = value.lowerBound
        var i = start
        while true {
            if i == value.upperBound || bytes[i] == UInt8(ascii: ",") {
                var lo = start, hi = i
                while lo < hi, isWhitespace(bytes[lo]) { lo += 1 }
                while hi > lo, isWhitespace(bytes[hi - 1]) { hi -= 1 }
                element(lo..<hi)
                if i == value.upperBound { return }
                start = i + 1
            }
            i += 1
        }
    }

    /// `1*DIGIT` as a length, or nil (a sign, a non-digit, empty, or more than 18 digits: an
    /// `Int` cannot overflow).
    static func decimalLength(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int? {
        guard !range.isEmpty, range.count <= 18 else { return nil }
        var n = 0
        for i in range {
            let b = bytes[i]
            guard b >= 0x30 && b <= 0x39 else { return nil }
            n = n * 10 + Int(b - 0x30)
        }
        return n
    }
}
