import Testing
import TextOutput

@Suite struct TextTableTests {
    let table = TextTable([.init("service", width: 8), .init("name", width: 6, limit: 6), .init("type", width: 0)])

    @Test func headerAndRowsShareTheColumns() {
        #expect(table.header == "service  name   type\n")
        #expect(table.line(["web", "flask.request", "http"]) == "web      flask. http\n")
        #expect(table.line(["a-very-long-service", "x", ""]) == "a-very-long-service x\n")
    }

    @Test func controlCharactersStayOnOneLine() {
        #expect(table.line(["a\nb", "\u{1b}[2J", "t\tu"]) == "a\\nb     \\u{1B} t\\tu\n")
        #expect(TextTable.printable("plain é") == "plain é")
    }
}
