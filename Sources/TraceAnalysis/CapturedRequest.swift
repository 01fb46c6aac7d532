import Foundation

/// One request as the agent received it (or as captured on disk): what the analyzer judges.
///
/// The proxy builds one per request it tees to analysis; `trace-compat audit` builds one per
/// captured file (`*.headers.json` + body).
public struct CapturedRequest: Sendable {
    public var method: String
    /// Path with query, e.g. `/v0.4/traces`.
    public var path: String
    /// Header names as received (compare case-insensitively), in order.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var receivedAt: Date
    /// Where it came from, for error messages (a file path, or "proxy").
    public var source: String

    public init(method: String, path: String, headers: [(name: String, value: String)], body: [UInt8], receivedAt: Date = Date(), source: String = "proxy") {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
        self.source = source
    }

    /// First value of a header, case-insensitively (ASCII, as HTTP header names are).
    public func header(_ name: String) -> String? {
        headers.first { Self.asciiCaseInsensitiveEquals($0.name, name) }?.value
    }

    /// The headers the analysis reads, found in one pass over the headers (a name's length is
    /// compared before its bytes, so most headers cost one integer compare): the language
    /// (`Datadog-Meta-Lang`, else `DD-Client-Library-Language`, as sent), the tracer's version
    /// (`Datadog-Meta-Tracer-Version`) and Python's (`Datadog-Meta-Lang-Version`), the first
    /// value of each, as `header(_:)` would give it. Run on every trace payload, so the names are
    /// compared with `equalsIgnoringCase(_:lowercased:)` against lowercase constants (one loop,
    /// no closure per string: the general compare was ~1,700 instructions per payload).
    public func tracerHeaders() -> (language: String?, tracerVersion: String?, langVersion: String?) {
        var lang: String?, clientLang: String?, tracer: String?, python: String?
        headers.withUnsafeBufferPointer { all in
            for i in all.indices {
                switch all[i].name.utf8.count {
                case 17: if lang == nil, Self.equalsIgnoringCase(all[i].name, lowercased: "datadog-meta-lang") { lang = all[i].value }
                case 25: if python == nil, Self.equalsIgnoringCase(all[i].name, lowercased: "datadog-meta-lang-version") { python = all[i].value }
                case 26: if clientLang == nil, Self.equalsIgnoringCase(all[i].name, lowercased: "dd-client-library-language") { clientLang = all[i].value }
                case 27: if tracer == nil, Self.equalsIgnoringCase(all[i].name, lowercased: "datadog-meta-tracer-version") { tracer = all[i].value }
                default: break
                }
            }
        }
        return (lang ?? clientLang, tracer, python)
    }

    /// `asciiCaseInsensitiveEquals(s, target)` for a `target` given in lowercase ASCII: a byte of
    /// `s` under a letter of `target` is compared with bit 0x20 set (`A`…`Z` become `a`…`z`; no
    /// other byte does, since the target's byte is a lowercase letter), any other byte exactly
    /// (RFC 9110 §5.1: field names are case-insensitive ASCII tokens).
    @inline(__always)
    static func equalsIgnoringCase(_ s: String, lowercased target: StaticString) -> Bool {
        var s = s
        return s.withUTF8 { x in
            guard x.count == target.utf8CodeUnitCount else { return false }
            let t = target.utf8Start
            var differ: UInt8 = 0
            for i in 0..<x.count {
                let q = t[i]
                differ |= (x[i] | (q &- 0x61 < 26 ? 0x20 : 0)) ^ q
            }
            return differ == 0
        }
    }

    /// ASCII case-insensitive equality over the UTF-8 bytes, without allocating (HTTP field
    /// names are ASCII tokens, RFC 9110 §5.1; other bytes must match exactly).
    public static func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                guard x.count == y.count else { return false }
                for i in 0..<x.count {
                    let p = x[i], q = y[i]
                    if p == q { continue }
                    // Same letter in the other case: they differ only in bit 0x20.
                    guard p ^ q == 0x20 else { return false }
                    let lower = p | 0x20
                    guard lower >= 0x61 && lower <= 0x7A else { return false }
                }
                return true
            }
        }
    }
}
