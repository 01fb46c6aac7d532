/// Where a JSON document stops being valid JSON (RFC 8259), as a byte offset.
///
/// Foundation's JSONSerialization says *that* a body is broken but not *where*; reports promise the
/// byte offset of every decode error, so a failed parse is re-scanned with this small checker.
public enum JSONSyntax {
    /// The offset of the first byte that cannot continue a valid document (the length when the
    /// input ends early), or nil when the input is valid JSON.
    public static func firstErrorOffset(_ bytes: [UInt8]) -> Int? {
        var s = Scanner(b: bytes)
        s.ws()
        guard s.value(depth: 0) else { return s.i }
        s.ws()
        return s.i == bytes.count ? nil : s.i
    }

    struct Scanner {
        let b: [UInt8]
        var i = 0

        mutating func ws() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x0a || b[i] == 0x0d || b[i] == 0x09 { i += 1 }
        }

        mutating func value(depth: Int) -> Bool {
            guard i < b.count, depth < 512 else { return false }
            switch b[i] {
            case UInt8(ascii: "{"):
                i += 1; ws()
                if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return true }
                while true {
                    ws()
                    guard i < b.count, b[i] == UInt8(ascii: "\""), string() else { return false }
                    ws()
                    guard i < b.count, b[i] == UInt8(ascii: ":") else { return false }
                    i += 1; ws()
                    guard value(depth: depth + 1) else { return false }
                    ws()
                    guard i < b.count else { return false }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "}") { i += 1; return true }
                    return false
                }
            case UInt8(ascii: "["):
                i += 1; ws()
                if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return true }
                while true {
                    ws()
                    guard value(depth: depth + 1) else { return false }
                    ws()
                    guard i < b.count else { return false }
                    if b[i] == UInt8(ascii: ",") { i += 1; continue }
                    if b[i] == UInt8(ascii: "]") { i += 1; return true }
                    return false
                }
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            for k in 0..<n {
                guard i < b.count, b[i] == word.utf8Start[k] else { return false }
                i += 1
            }
            return true
        }

        mutating func string() -> Bool {
            i += 1
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "\"") { i += 1; return true }
                if c < 0x20 { return false }
                if c == UInt8(ascii: "\\") {
                    i += 1
                    guard i < b.count else { return false }
                    if b[i] == UInt8(ascii: "u") {
                        for _ in 0..<4 {
                            i += 1
                            guard i < b.count, isHex(b[i]) else { return false }
                        }
                    } else if !"\"\\/bfnrt".utf8.contains(b[i]) {
                        return false
                    }
                }
                i += 1
            }
            return false
        }

        func isHex(_ c: UInt8) -> Bool {
            (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
        }

        mutating func digits() -> Int {
            var n = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 { i += 1; n += 1 }
            return n
        }

        mutating func number() -> Bool {
            if i < b.count, b[i] == UInt8(ascii: "-") { i += 1 }
            if i + 1 < b.count, b[i] == UInt8(ascii: "0"), b[i + 1] >= 48, b[i + 1] <= 57 { i += 1; return false }
            guard digits() > 0 else { return false }
            if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; guard digits() > 0 else { return false } }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { return false }
            }
            return true
        }
    }
}
