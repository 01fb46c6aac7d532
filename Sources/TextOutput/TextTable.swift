/// A plain-text table for a terminal: a header row, then one line per row, each column padded to
/// its width and separated by one space. Rows are printed as they come (no buffering of the whole
/// table), so the widths are fixed up front rather than measured.
///
/// A cell is cut to its column's `limit` (counted in Characters) and its control characters are
/// shown escaped (`\n`, `\t`, `\u{1b}`…), so one row is always one line and a span name cannot move
/// the terminal's cursor.
public struct TextTable: Sendable {
    public struct Column: Sendable {
        public var title: String
        /// Padded to this many characters (the last column is not padded).
        public var width: Int
        /// Cut to this many characters (nil: never cut).
        public var limit: Int?

        public init(_ title: String, width: Int, limit: Int? = nil) {
            self.title = title
            self.width = width
            self.limit = limit
        }
    }

    public let columns: [Column]

    public init(_ columns: [Column]) { self.columns = columns }

    /// The header line (with its newline).
    public var header: String { line(columns.map(\.title)) }

    /// One row as one line (with its newline); missing cells are empty, extra ones dropped.
    public func line(_ cells: [String]) -> String {
        var out = ""
        for (i, column) in columns.enumerated() {
            var cell = Self.printable(i < cells.count ? cells[i] : "")
            if let limit = column.limit, cell.count > limit { cell = String(cell.prefix(limit)) }
            if i > 0 { out += " " }
            out += cell
            if i < columns.count - 1, cell.count < column.width {
                out += String(repeating: " ", count: column.width - cell.count)
            }
        }
        while out.last == " " { out.removeLast() }
        return out + "\n"
    }

    /// `text` with its control characters (C0, DEL, C1) written as escapes.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where isControl(scalar): out += scalar.escaped(asASCII: true)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7f...0x9f).contains(s.value) }
}
