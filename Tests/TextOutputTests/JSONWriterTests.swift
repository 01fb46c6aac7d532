import Foundation
import Testing
import TextOutput

@Suite struct JSONWriterTests {
    /// Every control character, the two that must be escaped, DEL, non-ASCII and an emoji: Foundation's
    /// JSON parser (the oracle) reads back exactly the string that was written.
    @Test func everyCharacterRoundTripsThroughAJSONParser() throws {
        var text = String((0..<0x20).map { Character(UnicodeScalar(UInt8($0))) })
        text += "\"\\/ \u{7f} é 中 😀 end"
        var w = JSONWriter()
        w.byte("[")
        w.string(text)
        w.byte("]")
        let parsed = try JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String]
        #expect(parsed == [text])
    }

    @Test func escapesAreTheShortFormsThenUnicode() {
        #expect(JSONWriter.escaped("a\"b\\c\nd\re\tf\u{0}g\u{1b}h\u{1f}") == #"a\"b\\c\nd\re\tf\u0000g\u001bh\u001f"#)
        #expect(JSONWriter.escaped("é/😀") == "é/😀")
    }

    @Test func keysGetCommasExceptTheFirst() {
        var w = JSONWriter()
        var first = true
        w.byte("{")
        w.key("a", first: &first); w.raw("1")
        w.key("b\"", first: &first); w.raw("null")
        w.byte("}")
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"a":1,"b\"":null}"#)
    }

    /// Python's `json.dumps` spelling: `3.0`, `1e-07`… and non-finite values as strings.
    @Test func floatsAsPythonPrintsThem() {
        var w = JSONWriter()
        for d in [3.0, 0.1, -2.5, Double.nan, Double.infinity, -Double.infinity] { w.float(d); w.byte(" ") }
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"3.0 0.1 -2.5 "NaN" "Infinity" "-Infinity" "#)
    }
}
