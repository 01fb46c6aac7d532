import ASCIICase
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

    /// The header fields the analysis reads (`tracerHeaders()`); no other header is read.
    public enum TracerHeader: Sendable, Equatable, CaseIterable {
        /// `Datadog-Meta-Lang`.
        case language
        /// `DD-Client-Library-Language`: the language when `Datadog-Meta-Lang` is absent.
        case clientLanguage
        /// `Datadog-Meta-Tracer-Version`.
        case tracerVersion
        /// `Datadog-Meta-Lang-Version` (Python's version).
        case langVersion
    }

    /// Which header the analysis reads `name` is, if any (ASCII case-insensitively, RFC 9110
    /// §5.1): the length is compared before the bytes, so most names cost one integer compare.
    /// The proxy makes strings of these fields only (`ForwardedRequest.capturedHead()`), since a
    /// string per header per payload was a measurable share of a small payload's analysis.
    @inline(__always)
    public static func tracerHeader(named name: UnsafeRawBufferPointer) -> TracerHeader? {
        switch name.count {
        case 17: equalsIgnoringCase(name, lowercased: "datadog-meta-lang") ? .language : nil
        case 25: equalsIgnoringCase(name, lowercased: "datadog-meta-lang-version") ? .langVersion : nil
        case 26: equalsIgnoringCase(name, lowercased: "dd-client-library-language") ? .clientLanguage : nil
        case 27: equalsIgnoringCase(name, lowercased: "datadog-meta-tracer-version") ? .tracerVersion : nil
        default: nil
        }
    }

    /// The headers the analysis reads, found in one pass over the headers (`tracerHeader(named:)`):
    /// the language (`Datadog-Meta-Lang`, else `DD-Client-Library-Language`, as sent), the
    /// tracer's version (`Datadog-Meta-Tracer-Version`) and Python's (`Datadog-Meta-Lang-Version`),
    /// the first value of each, as `header(_:)` would give it. Run on every trace payload, so the
    /// names are compared against lowercase constants (no closure per string: the general compare
    /// was ~1,700 instructions per payload).
    public func tracerHeaders() -> (language: String?, tracerVersion: String?, langVersion: String?) {
        var lang: String?, clientLang: String?, tracer: String?, python: String?
        headers.withUnsafeBufferPointer { all in
            for i in all.indices {
                // Lengths first: most headers (and the proxy hands over only these four) end here.
                guard (17...27).contains(all[i].name.utf8.count) else { continue }
                var name = all[i].name
                guard let which = name.withUTF8({ Self.tracerHeader(named: UnsafeRawBufferPointer($0)) }) else { continue }
                switch which {
                case .language: if lang == nil { lang = all[i].value }
                case .langVersion: if python == nil { python = all[i].value }
                case .clientLanguage: if clientLang == nil { clientLang = all[i].value }
                case .tracerVersion: if tracer == nil { tracer = all[i].value }
                }
            }
        }
        return (lang ?? clientLang, tracer, python)
    }

    /// `asciiCaseInsensitiveEquals(s, target)` for a `target` given in lowercase ASCII.
    @inline(__always)
    static func equalsIgnoringCase(_ s: String, lowercased target: StaticString) -> Bool {
        var s = s
        return s.withUTF8 { equalsIgnoringCase(UnsafeRawBufferPointer($0), lowercased: target) }
    }

    /// ASCII case-insensitive equality of `x` with a `target` given in lowercase ASCII
    /// (`ASCIICase`, the compare the proxy's framing uses too; RFC 9110 §5.1: field names are
    /// case-insensitive ASCII tokens).
    @inline(__always)
    static func equalsIgnoringCase(_ x: UnsafeRawBufferPointer, lowercased target: StaticString) -> Bool {
        ASCIICase.equals(x, lowercased: target)
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
