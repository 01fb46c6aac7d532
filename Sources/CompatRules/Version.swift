/// A dotted version number compared numerically ("3.9" < "3.11.7", "7.63.0" > "7.60.1").
///
/// Only the leading numeric components count: "3.19.9rc1" reads as 3.19.9, "7.63.0-devel" as 7.63.0.
public struct DottedVersion: Comparable, Sendable, CustomStringConvertible {
    public let components: [Int]

    /// Nil when the text does not start with a number.
    public init?(_ text: some StringProtocol) {
        var parts: [Int] = []
        var current = 0
        var digits = 0
        loop: for ch in text.utf8 {
            switch ch {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if digits < 9 { current = current * 10 + Int(ch - UInt8(ascii: "0")) }
                digits += 1
            case UInt8(ascii: "."):
                guard digits > 0 else { break loop }
                parts.append(current); current = 0; digits = 0
            default:
                break loop
            }
        }
        if digits > 0 { parts.append(current) }
        guard !parts.isEmpty else { return nil }
        components = parts
    }

    public init(_ components: [Int]) { self.components = components }

    public static func < (a: DottedVersion, b: DottedVersion) -> Bool {
        for i in 0..<max(a.components.count, b.components.count) {
            let x = i < a.components.count ? a.components[i] : 0
            let y = i < b.components.count ? b.components[i] : 0
            if x != y { return x < y }
        }
        return false
    }

    public static func == (a: DottedVersion, b: DottedVersion) -> Bool { !(a < b) && !(b < a) }

    public var description: String { components.map(String.init).joined(separator: ".") }
}
