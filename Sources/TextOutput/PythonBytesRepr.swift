/// Python's `repr(bytes)`: what `json.dumps(default=repr)` writes for a msgpack bin or ext value,
/// so that `trace-compat decode` prints what the fixtures' Python decoding printed.
///
/// CPython's `bytes_repr` (Objects/bytesobject.c): single quotes unless the bytes hold `'` and no
/// `"`; `\\`, the quote, `\t`, `\n`, `\r` escaped; other bytes outside printable ASCII as `\xNN`.
public enum PythonBytesRepr {
    public static func repr(_ bytes: [UInt8]) -> String {
        let quote: UInt8 = bytes.contains(UInt8(ascii: "'")) && !bytes.contains(UInt8(ascii: "\"")) ? UInt8(ascii: "\"") : UInt8(ascii: "'")
        var s = "b" + String(UnicodeScalar(quote))
        for b in bytes {
            switch b {
            case UInt8(ascii: "\\"): s += "\\\\"
            case quote: s += "\\" + String(UnicodeScalar(b))
            case 0x09: s += "\\t"
            case 0x0a: s += "\\n"
            case 0x0d: s += "\\r"
            case 0x20..<0x7f: s.unicodeScalars.append(UnicodeScalar(b))
            default: s += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return s + String(UnicodeScalar(quote))
    }
}
