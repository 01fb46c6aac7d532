/// The rules' texts (titles, fixes, checklist advice) as a reader sees them: code set as code.
///
/// The texts mark code with backticks (`git grep -n on_start_span`) or name it plainly
/// (DD_DJANGO_TRACING_MINIMAL=false, set_tag(key, json.dumps(value))). Both become `<code>` in HTML
/// and backtick spans in Markdown, so no reader sees a literal backtick and every setting, function
/// or module reads as code in both reports.
enum RuleText {
    /// Backtick spans; settings (`DD_…`, with a value); calls with one level of nested parentheses
    /// (not an English plural such as `span(s)`);
    /// dotted or snake_case identifiers (`ddtrace.settings`, `set_struct_tag`).
    nonisolated(unsafe) static let code = #/`[^`]+`|\bDD_[A-Z0-9_]+(?:=[A-Za-z0-9_.]+)?|\b[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?!\(s\))\((?:[^()]|\([^()]*\))*\)|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\bddtrace(?:\.[a-z_]+)+/#

    /// Splits `text` into (plain, code) pieces, in order; a code piece has its backticks removed.
    static func pieces(_ text: String) -> [(isCode: Bool, text: String)] {
        var out: [(Bool, String)] = []
        var rest = text[...]
        while let m = rest.firstMatch(of: code) {
            if m.range.lowerBound > rest.startIndex { out.append((false, String(rest[rest.startIndex..<m.range.lowerBound]))) }
            var c = String(m.output)
            if c.hasPrefix("`") { c = String(c.dropFirst().dropLast()) }
            out.append((true, c))
            rest = rest[m.range.upperBound...]
        }
        if !rest.isEmpty { out.append((false, String(rest))) }
        return out
    }

    /// Escaped HTML with code in `<code>`.
    static func html(_ text: String) -> String {
        pieces(text).map { $0.isCode ? "<code>" + HTMLReport.esc($0.text) + "</code>" : HTMLReport.esc($0.text) }.joined()
    }

    /// Markdown with code in backticks (no backtick inside: a code piece never holds one).
    static func markdown(_ text: String) -> String {
        pieces(text).map { $0.isCode ? "`" + $0.text + "`" : $0.text }.joined()
    }
}
