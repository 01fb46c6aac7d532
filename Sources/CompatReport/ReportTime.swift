import Foundation

/// A point in time as whole milliseconds since the Unix epoch, written as an ISO 8601 UTC string
/// (`2026-11-26T16:09:46.123Z`).
///
/// Milliseconds, not `Date`: a report read back compares and merges exactly (min/max of times), with
/// no floating-point drift through the JSON text.
public struct ReportTime: Codable, Sendable, Comparable, Hashable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public init(_ date: Date) { milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
    public init(nanoseconds: Int64) { milliseconds = nanoseconds / 1_000_000 }

    public var date: Date { Date(timeIntervalSince1970: Double(milliseconds) / 1000) }

    public static func < (a: ReportTime, b: ReportTime) -> Bool { a.milliseconds < b.milliseconds }

    public var description: String { iso8601 }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, computed without a formatter (civil-from-days, proleptic Gregorian).
    public var iso8601: String {
        let ms = Int64(((milliseconds % 1000) + 1000) % 1000)
        let totalSeconds = (milliseconds - ms) / 1000
        var days = totalSeconds / 86_400
        var secs = totalSeconds % 86_400
        if secs < 0 { secs += 86_400; days -= 1 }
        let (y, m, d) = Self.civil(fromDays: days)
        func pad(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secs / 3600, 2)):\(pad(secs / 60 % 60, 2)):\(pad(secs % 60, 2)).\(pad(ms, 3))Z"
    }

    /// Parses what `iso8601` writes (fraction optional, 1–9 digits, `Z` or `+00:00`).
    public init?(iso8601 text: String) {
        let u = Array(text.utf8)
        func num(_ from: Int, _ len: Int) -> Int64? {
            guard from + len <= u.count else { return nil }
            var v: Int64 = 0
            for i in from..<(from + len) {
                guard u[i] >= 48, u[i] <= 57 else { return nil }
                v = v * 10 + Int64(u[i] - 48)
            }
            return v
        }
        guard u.count >= 20, let y = num(0, 4), u[4] == 45, let mo = num(5, 2), u[7] == 45, let d = num(8, 2),
              u[10] == 84 || u[10] == 32, let h = num(11, 2), u[13] == 58, let mi = num(14, 2), u[16] == 58, let s = num(17, 2)
        else { return nil }
        var i = 19
        var ms: Int64 = 0
        if i < u.count, u[i] == 46 {
            i += 1
            var digits = 0
            while i < u.count, u[i] >= 48, u[i] <= 57 {
                if digits < 3 { ms = ms * 10 + Int64(u[i] - 48) }
                digits += 1; i += 1
            }
            for _ in digits..<3 where digits < 3 { ms *= 10 }
        }
        let rest = String(decoding: u[i...], as: UTF8.self)
        guard rest == "Z" || rest == "+00:00" else { return nil }
        let days = Self.days(fromCivil: y, mo, d)
        milliseconds = ((days * 86_400) + h * 3600 + mi * 60 + s) * 1000 + ms
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        guard let t = ReportTime(iso8601: text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO 8601 UTC time: \(text)")
        }
        self = t
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(iso8601)
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
