/// A JSON document written into a byte buffer, piece by piece, for output that must be streamed or
/// must keep a shape `JSONEncoder` cannot (Python's key order, integer vs float metrics).
///
/// Holds the project's one JSON string escaper (`JSONWriter.escaped(_:)`), per RFC 8259 §7:
/// `"` and `\` are escaped, control characters U+0000–U+001F become `\n`, `\r`, `\t` or `\u00XX`;
/// everything else, DEL and non-ASCII included, is written as UTF-8 (RFC 8259 §8.1). Invalid
/// UTF-8 never reaches it: a `String` built from bytes has already replaced it with U+FFFD, as
/// Python's `errors='replace'` does.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8] = []

    public init() {}

    /// Text written as is (numbers, punctuation, `null`).
    public mutating func raw(_ text: String) { bytes += text.utf8 }

    public mutating func byte(_ ascii: Unicode.Scalar) { bytes.append(UInt8(ascii: ascii)) }

    /// A JSON string literal, quotes included.
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        Self.escape(text, into: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// An object key and its colon, with the comma before it unless it is the object's first.
    public mutating func key(_ name: String, first: inout Bool) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        first = false
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    /// A float as Python prints it (shortest round-trip form, `3.0` not `3`); the non-finite values
    /// JSON cannot hold (RFC 8259 §6) as the strings "NaN", "Infinity" and "-Infinity".
    public mutating func float(_ value: Double) {
        if value.isNaN { string("NaN"); return }
        if value.isInfinite { string(value < 0 ? "-Infinity" : "Infinity"); return }
        raw(value.description)
    }

    /// The inside of a JSON string literal for `text` (without the quotes).
    public static func escaped(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        escape(text, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func escape(_ text: String, into out: inout [UInt8]) {
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0a: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0d: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: out += Array("\\u00".utf8) + [hexDigit(b >> 4), hexDigit(b & 0xf)]
            default: out.append(b)
            }
        }
    }

    static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10 }
}
