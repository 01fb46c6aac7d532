import Testing
import TextOutput

@Suite struct PythonBytesReprTests {
    /// Expected values printed by CPython 3 `repr(bytes)`.
    @Test func matchesCPython() {
        #expect(PythonBytesRepr.repr(Array("it's".utf8)) == #"b"it's""#)
        #expect(PythonBytesRepr.repr([0x00, 0x7f, 0xff, 0x5c, 0x09, 0x0a, 0x0d, 0x22]) == #"b'\x00\x7f\xff\\\t\n\r"'"#)
        #expect(PythonBytesRepr.repr(Array(#"a'b"c"#.utf8)) == #"b'a\'b"c'"#)
        #expect(PythonBytesRepr.repr([]) == "b''")
    }
}
