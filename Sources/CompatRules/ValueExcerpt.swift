/// A value as reports show it: cut to `limit` characters (with an ellipsis when cut), line breaks
/// shown as ⏎. Here, beside the rules, because a rule's evidence may quote a value (V4-REMOVED-API
/// quotes the error message); the report's samples use the same (`Sample.excerpt`).
public enum ValueExcerpt {
    /// Characters kept of a value: enough to recognise it, too few to hold a secret in full.
    public static let limit = 32

    public static func of(_ value: String) -> String {
        // Fast path, the usual tag value: ASCII without line breaks (U+000A to U+000D), where one
        // byte is one Character and nothing needs replacing (no grapheme walk, no new string).
        let utf8 = value.utf8
        if utf8.allSatisfy({ $0 < 0x80 && !(0x0A...0x0D).contains($0) }) {
            guard utf8.count > limit else { return value }
            return String(decoding: utf8.prefix(limit - 1), as: UTF8.self) + "…"
        }
        let clean = String(value.map { $0.isNewline ? "⏎" : $0 })
        guard clean.count > limit else { return clean }
        return String(clean.prefix(limit - 1)) + "…"
    }
}
