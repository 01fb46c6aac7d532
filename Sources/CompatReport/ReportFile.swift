import Foundation

/// Persistence: `report.json` written atomically, with `report.md` and `report.html` beside it.
public enum ReportFile {
    /// Writes `report.json` atomically (temp file + rename) at `path`, with `.md` and `.html` beside it.
    public static func write(_ report: Report, to path: String) throws {
        let r = report.finalized()
        try writeAtomically(ReportRenderer.json(r), to: path)
        let base = path.hasSuffix(".json") ? String(path.dropLast(5)) : path
        try writeAtomically(Array(ReportRenderer.markdown(r).utf8), to: base + ".md")
        try writeAtomically(Array(ReportRenderer.html(r).utf8), to: base + ".html")
    }

    /// Reads a report written by `write`; nil when the file does not exist.
    public static func read(from path: String) throws -> Report? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try ReportRenderer.decode(json: Array(data))
    }

    /// Writes `bytes` to a temporary file in the same folder, flushes it, and renames it over
    /// `path`: a reader sees the old file or the new one, never half of one.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw POSIXFailure(op: "open", path: tmp, code: errno) }
        var ok = true
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; ok = false; break }
                off += n
            }
        }
        let code = errno
        if ok && fsync(fd) != 0 { ok = false }
        close(fd)
        guard ok else { unlink(tmp); throw POSIXFailure(op: "write", path: tmp, code: code) }
        guard rename(tmp, path) == 0 else {
            let c = errno
            unlink(tmp)
            throw POSIXFailure(op: "rename", path: path, code: c)
        }
    }

    public struct POSIXFailure: Error, CustomStringConvertible {
        public var op: String
        public var path: String
        public var code: Int32
        public var description: String { "\(op) \(path): \(String(cString: strerror(code)))" }
    }
}
