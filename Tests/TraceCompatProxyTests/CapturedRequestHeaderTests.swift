import Testing
import TraceAnalysis

/// `CapturedRequest.header(_:)`: HTTP field names compare ASCII case-insensitively, nothing more.
@Suite struct CapturedRequestHeaderTests {
    let request = CapturedRequest(method: "POST", path: "/v0.4/traces", headers: [
        ("Content-Type", "application/msgpack"),
        ("X-Datadog-Trace-Count", "3"),
        ("x-datadog-trace-count", "4"),
        ("Datadog-Meta-Lang", "python"),
        ("X-Caf\u{C9}", "upper"),
        ("@", "at"),
        ("[", "bracket"),
    ], body: [])

    @Test func namesMatchInAnyLetterCaseAndTheFirstValueWins() {
        #expect(request.header("content-type") == "application/msgpack")
        #expect(request.header("CONTENT-TYPE") == "application/msgpack")
        #expect(request.header("x-DATADOG-trace-count") == "3")
        #expect(request.header("datadog-meta-lang") == "python")
    }

    @Test func onlyLettersFoldAndLengthsMustMatch() {
        #expect(request.header("content-typ") == nil)
        #expect(request.header("content-types") == nil)
        #expect(request.header("content_type") == nil)
        // Bytes that differ only in 0x20 but are not letters: ` (0x60) vs @ (0x40), { vs [.
        #expect(request.header("`") == nil)
        #expect(request.header("{") == nil)
        // Non-ASCII is compared exactly: É (C3 89) and é (C3 A9) also differ only in 0x20.
        #expect(request.header("x-caf\u{E9}") == nil)
        #expect(request.header("x-caf\u{C9}") == "upper")
        #expect(request.header("") == nil)
    }
}
