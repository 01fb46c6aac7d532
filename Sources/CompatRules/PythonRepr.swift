import MessagePack

/// What Python's `str()` of a non-string value looks like, recognised without allocating.
///
/// ddtrace 3.x stores `str(value)` in `meta` for every tag value that is not a string or a number,
/// so the value's Python type can be read back from its text: `True`/`False`, `None`, `[1, 2]`,
/// `{'a': 1}`, `(1, 2)`, `{1, 2}`, `b'\x01'`, `<Obj>`, `<mod.Class object at 0x7f…>`.
/// Containers are checked structurally by a small, tolerant recogniser of Python literals (strings
/// in either quote, numbers, `True`/`False`/`None`, `inf`/`nan`, nested containers, call-style
/// reprs such as `Decimal('1.5')` or `Point(x=1, y=2)`, and `<…>` reprs), so that text which
/// merely starts with a bracket ("[draft]", "[2001:db8::1]:443", "(see above)") is not taken for
/// a repr. JSON written on purpose is told apart by its strings: Python quotes a string with double
/// quotes only when it contains a single quote, so `{"a": 1}` and `["x"]` are JSON, not reprs.
public enum PythonRepr {
    /// The Python type the text most likely came from.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case bool, none, list, dict, tuple, set, bytes, object

        /// Its position in `allCases` (a finding's kind code), by a switch: `allCases.firstIndex`
        /// is a call and a search per flagged value.
        @inlinable public var code: UInt8 {
            switch self {
            case .bool: 0
            case .none: 1
            case .list: 2
            case .dict: 3
            case .tuple: 4
            case .set: 5
            case .bytes: 6
            case .object: 7
            }
        }

        /// The kind whose `code` is `code` (the low three bits).
        @inlinable public init(code: UInt8) {
            switch code & 7 {
            case 0: self = .bool
            case 1: self = .none
            case 2: self = .list
            case 3: self = .dict
            case 4: self = .tuple
            case 5: self = .set
            case 6: self = .bytes
            default: self = .object
            }
        }
    }

    public struct Match: Equatable, Sendable {
        public var kind: Kind
        public var confidence: Confidence
        public init(kind: Kind, confidence: Confidence) { self.kind = kind; self.confidence = confidence }
    }

    /// Values longer than this are not parsed (a repr this long is still flagged when it is cut
    /// by nothing; a longer text costs too much to prove either way).
    public static let maxParsedLength = 1 << 20

    /// True when the first and last bytes make a repr possible at all: the cheap test on the hot
    /// path. `classify` only ever matches a whole value, so its last byte is fixed by its first:
    /// `True`/`False`/`None` end in `e`, containers in their closing bracket, `b'…'` in its quote,
    /// `<…>` in `>`, and call-style reprs (`set()`, `OrderedDict(…)`, `bytearray(…)`) in `)`.
    /// Ordinary words that share a first letter ("sqlite", "django", "staging") stop here instead
    /// of in the recogniser. Inlined: it runs on every meta value of every span, and as a call
    /// it cost as much again as its test.
    @inlinable @inline(__always)
    public static func isCandidate(_ value: ByteView) -> Bool {
        guard value.count >= 2 else { return false }
        let last = value[value.count - 1]
        switch value[0] {
        case UInt8(ascii: "T"), UInt8(ascii: "F"), UInt8(ascii: "N"):
            return last == UInt8(ascii: "e")
        case UInt8(ascii: "["):
            return last == UInt8(ascii: "]")
        case UInt8(ascii: "{"):
            return last == UInt8(ascii: "}")
        case UInt8(ascii: "<"):
            return last == UInt8(ascii: ">")
        case UInt8(ascii: "b"):
            return last == UInt8(ascii: "'") || last == UInt8(ascii: "\"") || last == UInt8(ascii: ")")
        case UInt8(ascii: "("), UInt8(ascii: "s"), UInt8(ascii: "f"), UInt8(ascii: "d"), UInt8(ascii: "O"),
             UInt8(ascii: "C"), UInt8(ascii: "a"), UInt8(ascii: "m"):
            return last == UInt8(ascii: ")")
        default:
            return false
        }
    }

    /// Classifies a meta value; nil when it is not the `str()` of a non-string Python value.
    public static func classify(_ value: ByteView) -> Match? {
        guard isCandidate(value), value.count <= maxParsedLength else { return nil }
        if value.equals("True") || value.equals("False") { return Match(kind: .bool, confidence: .medium) }
        if value.equals("None") { return Match(kind: .none, confidence: .medium) }
        let p = value.base
        switch p[0] {
        case UInt8(ascii: "["):
            return container(p, kind: .list)
        case UInt8(ascii: "("):
            return container(p, kind: .tuple)
        case UInt8(ascii: "{"):
            var parser = Parser(p)
            guard parser.parseWhole(), !parser.sawJSONString else { return nil }
            let kind: Kind = parser.topWasSet ? .set : .dict
            return Match(kind: kind, confidence: parser.topWasEmpty ? .medium : .high)
        case UInt8(ascii: "b") where p.count >= 3 && (p[1] == UInt8(ascii: "'") || p[1] == UInt8(ascii: "\"")):
            var parser = Parser(p)
            guard parser.parseWhole() else { return nil }
            return Match(kind: .bytes, confidence: .high)
        case UInt8(ascii: "<"):
            return angle(p)
        default:
            // Containers whose str() is a call-style repr: set(), frozenset({1}), deque([1]), …
            var parser = Parser(p)
            guard parser.parseWhole(), !parser.sawJSONString, let name = parser.topCallName else { return nil }
            switch name {
            case .set: return Match(kind: .set, confidence: .high)
            case .bytes: return Match(kind: .bytes, confidence: .high)
            case .dict: return Match(kind: .dict, confidence: .high)
            case .list: return Match(kind: .list, confidence: .high)
            default: return nil
            }
        }
    }

    static func container(_ p: UnsafeRawBufferPointer, kind: Kind) -> Match? {
        var parser = Parser(p)
        guard parser.parseWhole(), !parser.sawJSONString else { return nil }
        if kind == .tuple {
            // "(1)" is a parenthesised number, never a tuple's str(); "()" and "(1,)" are tuples.
            guard parser.topWasTuple else { return nil }
            return Match(kind: .tuple, confidence: .high)
        }
        return Match(kind: kind, confidence: parser.topWasEmpty ? .medium : .high)
    }

    /// `<…>` reprs. `<mod.Class object at 0x7f…>` and Python's own forms (`<module '…'>`,
    /// `<class '…'>`, `<function …>`, `<bound method …>`, `<built-in …>`) are high confidence.
    /// A custom `__repr__` in the conventional `<Name…>` form (`<Obj>`, `<Response [200]>`) is
    /// medium: it starts with a capitalised identifier, which is how classes are named, but a user
    /// may write such text on purpose. Lower-case words in brackets ("<none>", "<unknown>", "<br>")
    /// are not flagged: they are common placeholders and markup.
    static func angle(_ p: UnsafeRawBufferPointer) -> Match? {
        let n = p.count
        guard n >= 3, p[n - 1] == UInt8(ascii: ">") else { return nil }
        let body = UnsafeRawBufferPointer(rebasing: p[1..<(n - 1)])
        guard !body.isEmpty, !body.contains(UInt8(ascii: "\n")) else { return nil }
        // " object at 0x" contains " at 0x": one search covers both. The prefixes are literals
        // compared in place (an array per candidate value was most of a small payload's mallocs).
        if contains(body, " at 0x") { return Match(kind: .object, confidence: .high) }
        let b = ByteView(body)
        if b.hasPrefix("module '") || b.hasPrefix("class '") || b.hasPrefix("function ") || b.hasPrefix("bound method ")
            || b.hasPrefix("built-in ") || b.hasPrefix("coroutine object ") || b.hasPrefix("generator object ") {
            return Match(kind: .object, confidence: .high)
        }
        // <Name>, <Name …>, <Name: …>, <pkg.Name …>
        guard body[0] >= UInt8(ascii: "A"), body[0] <= UInt8(ascii: "Z") else { return nil }
        var i = 0
        while i < body.count, isIdent(body[i]) || body[i] == UInt8(ascii: ".") { i += 1 }
        if i == body.count { return Match(kind: .object, confidence: .medium) }
        let c = body[i]
        guard c == UInt8(ascii: " ") || c == UInt8(ascii: ":") || c == UInt8(ascii: "(") || c == UInt8(ascii: "[") else { return nil }
        // Balanced angle brackets inside.
        var depth = 0
        for b in body {
            if b == UInt8(ascii: "<") { depth += 1 } else if b == UInt8(ascii: ">") { depth -= 1; if depth < 0 { return nil } }
        }
        return depth == 0 ? Match(kind: .object, confidence: .medium) : nil
    }

    @inline(__always) static func isIdent(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }

    /// True when `p` contains the literal `s` (compared in place, nothing allocated).
    static func contains(_ p: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        guard n > 0 else { return true }
        guard p.count >= n else { return false }
        let u = s.utf8Start
        var i = 0
        while i + n <= p.count {
            var j = 0
            while j < n && p[i + j] == u[j] { j += 1 }
            if j == n { return true }
            i += 1
        }
        return false
    }

    /// Container names whose `str()` is a call-style repr.
    enum CallKind { case set, bytes, dict, list, other }

    /// The recogniser: a cursor over the bytes with what it has seen.
    struct Parser {
        let p: UnsafeRawBufferPointer
        var i = 0
        var depth = 0
        /// A double-quoted string without a single quote inside: JSON, not Python's repr.
        var sawJSONString = false
        var topWasEmpty = false
        var topWasTuple = false
        var topWasSet = false
        var topCallName: CallKind?

        init(_ p: UnsafeRawBufferPointer) { self.p = p }

        mutating func parseWhole() -> Bool {
            guard value(top: true) else { return false }
            return i == p.count
        }

        @inline(__always) func peek() -> UInt8? { i < p.count ? p[i] : nil }

        mutating func skipSpaces() {
            while i < p.count, p[i] == UInt8(ascii: " ") { i += 1 }
        }

        mutating func value(top: Bool = false) -> Bool {
            skipSpaces()
            guard let c = peek() else { return false }
            depth += 1
            defer { depth -= 1 }
            guard depth < 64 else { return false }
            switch c {
            case UInt8(ascii: "["): return sequence(close: UInt8(ascii: "]"), top: top, tuple: false)
            case UInt8(ascii: "("): return sequence(close: UInt8(ascii: ")"), top: top, tuple: true)
            case UInt8(ascii: "{"): return braces(top: top)
            case UInt8(ascii: "'"), UInt8(ascii: "\""): return string()
            case UInt8(ascii: "<"): return angleToken()
            case UInt8(ascii: "-"), UInt8(ascii: "+"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
            case UInt8(ascii: "."):
                if i + 2 < p.count, p[i + 1] == UInt8(ascii: "."), p[i + 2] == UInt8(ascii: ".") { i += 3; return true }
                return number()
            default:
                if c == UInt8(ascii: "b") || c == UInt8(ascii: "r") || c == UInt8(ascii: "u"),
                   i + 1 < p.count, p[i + 1] == UInt8(ascii: "'") || p[i + 1] == UInt8(ascii: "\"") {
                    i += 1
                    return string()
                }
                guard PythonRepr.isIdent(c), !(c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) else { return false }
                return nameOrCall(top: top)
            }
        }

        mutating func sequence(close: UInt8, top: Bool, tuple: Bool) -> Bool {
            i += 1
            var count = 0
            var trailingComma = false
            skipSpaces()
            if peek() == close {
                i += 1
                if top { topWasEmpty = true; topWasTuple = tuple }
                return true
            }
            while true {
                guard value() else { return false }
                count += 1
                skipSpaces()
                guard let c = peek() else { return false }
                if c == UInt8(ascii: ",") {
                    i += 1
                    skipSpaces()
                    if peek() == close { i += 1; trailingComma = true; break }
                    continue
                }
                if c == close { i += 1; break }
                return false
            }
            if top && tuple { topWasTuple = count >= 2 || trailingComma }
            return true
        }

        mutating func braces(top: Bool) -> Bool {
            i += 1
            skipSpaces()
            if peek() == UInt8(ascii: "}") {
                i += 1
                if top { topWasEmpty = true }
                return true
            }
            guard value() else { return false }
            skipSpaces()
            let isDict = peek() == UInt8(ascii: ":")
            if top { topWasSet = !isDict }
            while true {
                if isDict {
                    guard peek() == UInt8(ascii: ":") else { return false }
                    i += 1
                    guard value() else { return false }
                    skipSpaces()
                }
                guard let c = peek() else { return false }
                if c == UInt8(ascii: "}") { i += 1; return true }
                guard c == UInt8(ascii: ",") else { return false }
                i += 1
                skipSpaces()
                if peek() == UInt8(ascii: "}") { i += 1; return true }
                guard value() else { return false }
                skipSpaces()
            }
        }

        mutating func string() -> Bool {
            let q = p[i]
            i += 1
            var sawSingle = false
            while i < p.count {
                let c = p[i]
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\n") { return false }
                if c == q {
                    i += 1
                    if q == UInt8(ascii: "\"") && !sawSingle { sawJSONString = true }
                    return true
                }
                if c == UInt8(ascii: "'") { sawSingle = true }
                i += 1
            }
            return false
        }

        mutating func number() -> Bool {
            let start = i
            if p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") { i += 1 }
            var digits = 0
            func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
            while i < p.count, isDigit(p[i]) || p[i] == UInt8(ascii: "_") { i += 1; digits += 1 }
            if i < p.count, p[i] == UInt8(ascii: ".") {
                i += 1
                while i < p.count, isDigit(p[i]) { i += 1; digits += 1 }
            }
            guard digits > 0 else {
                // -inf, -nan
                i = start + 1
                return i < p.count && PythonRepr.isIdent(p[i]) && nameOrCall(top: false)
            }
            if i < p.count, p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") {
                i += 1
                if i < p.count, p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: "+") { i += 1 }
                var exp = 0
                while i < p.count, isDigit(p[i]) { i += 1; exp += 1 }
                guard exp > 0 else { return false }
            }
            if i < p.count, p[i] == UInt8(ascii: "j") { i += 1 }
            // A number must end where a separator follows (so "555) 123" fails at the caller).
            if i < p.count, PythonRepr.isIdent(p[i]) { return false }
            return true
        }

        /// `<…>` inside a container: balanced angle brackets on one line.
        mutating func angleToken() -> Bool {
            var d = 0
            while i < p.count {
                let c = p[i]
                if c == UInt8(ascii: "\n") { return false }
                if c == UInt8(ascii: "<") { d += 1 }
                if c == UInt8(ascii: ">") { d -= 1; if d == 0 { i += 1; return true } }
                i += 1
            }
            return false
        }

        /// `True`, `False`, `None`, `inf`, `nan`, `Ellipsis`, or `dotted.Name(args)`.
        mutating func nameOrCall(top: Bool) -> Bool {
            let start = i
            while i < p.count, PythonRepr.isIdent(p[i]) || p[i] == UInt8(ascii: ".") { i += 1 }
            let name = UnsafeRawBufferPointer(rebasing: p[start..<i])
            if peek() == UInt8(ascii: "(") {
                if top {
                    if eq(name, "set") || eq(name, "frozenset") { topCallName = .set }
                    else if eq(name, "bytearray") { topCallName = .bytes }
                    else if eq(name, "OrderedDict") || eq(name, "defaultdict") || eq(name, "Counter") || eq(name, "mappingproxy") { topCallName = .dict }
                    else if eq(name, "deque") || eq(name, "array") { topCallName = .list }
                    else { topCallName = .other }
                }
                i += 1
                skipSpaces()
                if peek() == UInt8(ascii: ")") { i += 1; return true }
                while true {
                    // keyword argument: name=value
                    let save = i
                    while i < p.count, PythonRepr.isIdent(p[i]) { i += 1 }
                    if i > save, peek() == UInt8(ascii: "=") { i += 1 } else { i = save }
                    guard value() else { return false }
                    skipSpaces()
                    guard let c = peek() else { return false }
                    if c == UInt8(ascii: ")") { i += 1; return true }
                    guard c == UInt8(ascii: ",") else { return false }
                    i += 1
                    skipSpaces()
                    if peek() == UInt8(ascii: ")") { i += 1; return true }
                }
            }
            if top { return false }
            return eq(name, "True") || eq(name, "False") || eq(name, "None") || eq(name, "inf") || eq(name, "nan") || eq(name, "Ellipsis")
        }

        func eq(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool { ByteView(b).equals(s) }
    }
}

extension PythonRepr {
    /// String convenience (tests, telemetry).
    public static func classify(_ value: String) -> Match? {
        var v = value
        return v.withUTF8 { classify(ByteView(UnsafeRawBufferPointer($0))) }
    }
}
