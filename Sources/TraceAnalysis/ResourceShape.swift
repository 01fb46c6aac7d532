import MessagePack

/// A resource with its literals replaced by `?`, so that `SELECT … WHERE id = 42` and `… id = 43`,
/// or `GET /users/123` and `/users/456`, are one finding group, not one group each.
///
/// What it replaces, as the Datadog Agent's SQL obfuscator does (`pkg/obfuscate/sql.go`: numbers,
/// quoted strings, hex and `IN (?, ?)` lists collapse to `?`), plus the ids that URL paths carry:
/// - numbers and tokens that start with a digit (`42`, `3.14`, `0x1F`, `123abc`);
/// - single-quoted strings, `''` escapes included (`'a''b'`);
/// - tokens of hex digits and dashes of 8 characters or more with at least one digit (uuids,
///   object ids, hashes): `3f2a9c…`, `a3bb189e-8bf9-3888-9912-ace4e6543002`;
/// - a list of `?` separated by commas collapses to one `?` (`IN (?, ?, ?)` → `IN (?)`).
/// Identifiers keep their digits (`table1`, `v0.4`: digits after a letter or `word.` are no literal), and
/// double-quoted text is left alone (an identifier in SQL). Reads at most
/// `AnalysisLimits.resourceBytesRead` bytes and keeps at most `AnalysisLimits.resourceBytesKept`.
struct ResourceShape {
    /// The last normalised resource (reused storage: no allocation once warm).
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(AnalysisLimits.resourceBytesKept + 8) }

    /// Normalises `resource` into `bytes`.
    mutating func normalise(_ resource: ByteView) {
        bytes.removeAll(keepingCapacity: true)
        let input = resource.base
        let end = min(input.count, AnalysisLimits.resourceBytesRead)
        var i = 0
        while i < end && bytes.count < AnalysisLimits.resourceBytesKept {
            let c = input[i]
            if c == UInt8(ascii: "'") {
                // A quoted literal: to the closing quote ('' is an escaped quote inside).
                i += 1
                while i < end {
                    if input[i] == UInt8(ascii: "'") {
                        if i + 1 < end && input[i + 1] == UInt8(ascii: "'") { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i += 1
                placeholder()
            } else if Self.isWord(c) {
                let start = i
                var hex = true, digit = false
                while i < end && (Self.isWord(input[i]) || (input[i] == UInt8(ascii: "-") && i + 1 < end && Self.isHex(input[i + 1]) && hex)
                                  || (input[i] == UInt8(ascii: ".") && Self.isDigit(input[start]))) {
                    let b = input[i]
                    if Self.isDigit(b) { digit = true } else if !Self.isHex(b) && b != UInt8(ascii: "-") { hex = false }
                    i += 1
                }
                // A number right after `word.` is part of a dotted name (`v0.4`, `schema.1x`), not a literal.
                let dotted = start >= 2 && input[start - 1] == UInt8(ascii: ".") && Self.isWord(input[start - 2])
                if (Self.isDigit(input[start]) && !dotted) || (hex && digit && i - start >= 8) {
                    placeholder()
                } else {
                    let room = AnalysisLimits.resourceBytesKept - bytes.count
                    bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[start..<min(i, start + room)]))
                }
            } else {
                bytes.append(c)
                i += 1
            }
        }
    }

    /// Appends `?`, unless the text ends with `?,` (spaces allowed): a list collapses to one `?`.
    private mutating func placeholder() {
        var j = bytes.count
        while j > 0 && bytes[j - 1] == UInt8(ascii: " ") { j -= 1 }
        if j > 0 && bytes[j - 1] == UInt8(ascii: ",") {
            j -= 1
            while j > 0 && bytes[j - 1] == UInt8(ascii: " ") { j -= 1 }
            if j > 0 && bytes[j - 1] == UInt8(ascii: "?") {
                bytes.removeLast(bytes.count - j)
                return
            }
        }
        bytes.append(UInt8(ascii: "?"))
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    @inline(__always) static func isHex(_ b: UInt8) -> Bool { isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66) }
    /// Letters, digits, `_` and `$` (SQL identifiers), and bytes of UTF-8 sequences (≥ 0x80).
    @inline(__always) static func isWord(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == UInt8(ascii: "_") || b == UInt8(ascii: "$") || b >= 0x80
    }
}
