import Testing
@testable import TraceAnalysis

/// The header scan run on every trace payload must find what `header(_:)` finds (the first value,
/// names compared case-insensitively in ASCII) and nothing that only looks alike.
@Suite struct CapturedRequestTests {
    static func request(_ headers: [(String, String)]) -> CapturedRequest {
        CapturedRequest(method: "POST", path: "/v0.4/traces", headers: headers.map { (name: $0.0, value: $0.1) }, body: [])
    }

    @Test func findsTheTracerHeadersInAnyCase() {
        let r = Self.request([("user-agent", "x"), ("DATADOG-META-TRACER-VERSION", "3.19.9"), ("Datadog-Meta-Lang-Version", "3.11.7"),
                              ("datadog-meta-lang", "python"), ("Datadog-Meta-Lang", "ruby"), ("dd-client-library-language", "go")])
        let h = r.tracerHeaders()
        #expect(h.language == "python")
        #expect(h.tracerVersion == "3.19.9")
        #expect(h.langVersion == "3.11.7")
        #expect(h.language == r.header("datadog-meta-lang"))
        #expect(h.tracerVersion == r.header("Datadog-Meta-Tracer-Version"))
    }

    @Test func theClientLibraryLanguageWhenNoMetaLang() {
        let h = Self.request([("DD-Client-Library-Language", "Python"), ("Datadog-Meta-Tracer-Version", "3.1.0")]).tracerHeaders()
        #expect(h.language == "Python")
        #expect(h.tracerVersion == "3.1.0")
        #expect(h.langVersion == nil)
    }

    /// Names of the right length that differ in one byte (a letter for another, `_` for `-`, CR
    /// 0x0D for `-` 0x2D: only bit 0x20 apart, but not a letter) must not match.
    @Test func lookalikeNamesDoNotMatch() {
        let h = Self.request([("Datadog-Meta-Lanh", "a"), ("Datadog_Meta_Lang", "b"), ("Datadog\rMeta-Lang", "c"),
                              ("Datadog-Meta-Tracer-Versioo", "d"), ("Datadog-Meta-Lang-Versiom", "e"), ("Datadog-Meta-Lang\rVersion", "f"),
                              ("DD-Client-Library-Languag", "g")]).tracerHeaders()
        #expect(h.language == nil)
        #expect(h.tracerVersion == nil)
        #expect(h.langVersion == nil)
    }

    /// `tracerHeader(named:)`, which the proxy keeps a string of, names exactly the fields
    /// `tracerHeaders()` reads: each of the four in any case, and no other name.
    @Test func tracerHeaderNamesExactlyTheFieldsRead() {
        func which(_ name: String) -> CapturedRequest.TracerHeader? {
            Array(name.utf8).withUnsafeBytes { CapturedRequest.tracerHeader(named: $0) }
        }
        let read: [(String, CapturedRequest.TracerHeader)] = [
            ("Datadog-Meta-Lang", .language), ("DD-Client-Library-Language", .clientLanguage),
            ("Datadog-Meta-Tracer-Version", .tracerVersion), ("Datadog-Meta-Lang-Version", .langVersion)]
        #expect(Set(read.map(\.1)) == Set(CapturedRequest.TracerHeader.allCases))
        for (name, field) in read {
            for spelled in [name, name.lowercased(), name.uppercased()] { #expect(which(spelled) == field, "\(spelled)") }
        }
        for other in ["Host", "Content-Type", "Content-Length", "X-Datadog-Trace-Count", "Datadog-Container-ID",
                      "Datadog-Meta-Lang-Interpreter", "Datadog-Meta-Lang-Versio", "Datadog-Meta-Lang-Versions", ""] {
            #expect(which(other) == nil, "\(other)")
        }
    }

    /// The lowercase-target compare agrees with the general one on every pair of bytes at one place.
    @Test func equalsIgnoringCaseAgreesWithTheGeneralCompare() {
        let target: StaticString = "a-z0_"
        let base = Array("a-z0_".utf8)
        for i in base.indices {
            for b in UInt8(0)...UInt8(127) {
                var bytes = base
                bytes[i] = b
                let s = String(decoding: bytes, as: UTF8.self)
                #expect(CapturedRequest.equalsIgnoringCase(s, lowercased: target)
                        == CapturedRequest.asciiCaseInsensitiveEquals(s, "a-z0_"), "byte \(b) at \(i)")
            }
        }
        #expect(CapturedRequest.equalsIgnoringCase("PYTHON", lowercased: "python"))
        #expect(!CapturedRequest.equalsIgnoringCase("pythons", lowercased: "python"))
        #expect(!CapturedRequest.equalsIgnoringCase("pythön", lowercased: "python"))
    }
}
