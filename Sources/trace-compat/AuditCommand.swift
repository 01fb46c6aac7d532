import ArgumentParser
import CompatReport
import CompatRules
import Foundation
import TraceAnalysis

extension Severity: ExpressibleByArgument {}

/// `trace-compat audit PATH…`: judges captured traffic offline with the same Analyzer and report as
/// the proxy. Exit status: 0, or 3 with `--fail-on` when a finding at or above that severity exists
/// (a CI gate); a damaged file is reported on stderr and counted, and does not change the status.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Judge captured tracer traffic (files or folders) against the dd-trace-py v4 rules.",
        discussion: """
            Inputs are laid out like the fixtures: NNN-METHOD-path.headers.json with the body beside it \
            (.msgpack trace payloads, .body.json telemetry), optionally NNN-GET-info.response.json with the \
            agent's /info answer. A bare .msgpack is judged by its name (v0.4 or v0.5). Exit status 3 with \
            --fail-on when a finding at or above that severity exists.
            """
    )

    @Argument(help: "Capture files or folders (searched recursively).")
    var paths: [String]

    @Option(help: "Write the JSON report (schema trace-compat/report/v1) here.")
    var json: String?
    @Option(help: "Write the Markdown report here.")
    var markdown: String?
    @Option(help: "Write the self-contained HTML report here.")
    var html: String?
    @Option(name: .customLong("fail-on"), help: "Exit 3 when a finding of this severity or worse exists: breaks, changes or check.")
    var failOn: Severity?
    @Flag(help: "Keep no value excerpts in the report (types and ids only).")
    var redact = false
    @Option(help: "Samples kept per finding.")
    var samples = 5
    @Option(name: .customLong("agent-info"), help: "A file with the agent's GET /info answer (JSON), to check the agent version.")
    var agentInfo: String?
    @Flag(help: "No progress on stderr.")
    var quiet = false

    func run() async throws {
        let store = ReportStore(sampleLimit: samples, redact: redact)
        let analyzer = Analyzer(store: store)
        let set: CaptureSet
        do {
            set = try CaptureSet.scan(paths)
        } catch {
            throw ValidationError("\(error)")
        }
        var entries = set.entries
        if let agentInfo { entries.append(.agentInfo(agentInfo)) }
        let progress = Progress(total: entries.count, totalBytes: set.totalBytes, enabled: !quiet)
        for (i, entry) in entries.enumerated() {
            Self.audit(entry, with: analyzer)
            progress.update(done: i + 1)
        }
        progress.finish()

        let report = store.snapshot()
        do {
            if let json { try ReportFile.writeAtomically(ReportRenderer.json(report), to: json) }
            if let markdown { try ReportFile.writeAtomically(Array(ReportRenderer.markdown(report).utf8), to: markdown) }
            if let html { try ReportFile.writeAtomically(Array(ReportRenderer.html(report).utf8), to: html) }
        } catch {
            Self.stderr("trace-compat: cannot write the report: \(error)")
            throw ExitCode(1)
        }
        print(ReportRenderer.summary(report), terminator: "")
        if let failOn, !report.findings(atLeast: failOn).isEmpty {
            Self.stderr("trace-compat: \(report.findings(atLeast: failOn).count) finding(s) at or above '\(failOn.rawValue)': exit 3")
            throw ExitCode(3)
        }
    }

    /// Judges one entry; an unreadable or undecodable one gets one line on stderr.
    static func audit(_ entry: CaptureSet.Entry, with analyzer: Analyzer) {
        switch entry {
        case .request(let headers, let body):
            do {
                let request = try CaptureSet.load(headers: headers, body: body)
                let outcome = analyzer.analyze(request)
                if let e = outcome.decodeError { damaged(request.source, e.reason, e.offset) }
            } catch {
                analyzer.recordUnreadable(source: error.path, reason: error.reason, offset: error.offset)
                damaged(error.path, error.reason, error.offset)
            }
        case .agentInfo(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                analyzer.recordUnreadable(source: path, reason: "cannot read the file", offset: 0)
                damaged(path, "cannot read the file", 0)
                return
            }
            let mtime = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
            let outcome = analyzer.analyzeAgentInfo(body: Array(data), receivedAt: mtime, source: path)
            if let e = outcome.decodeError { damaged(path, e.reason, e.offset) }
        case .foreign(let path):
            let reason = "not captured traffic (expected *.headers.json, *.msgpack, *.body.json or *.response.json)"
            analyzer.recordUnreadable(source: path, reason: reason, offset: 0)
            damaged(path, reason, 0)
        }
    }

    static func damaged(_ path: String, _ reason: String, _ offset: Int) {
        stderr("trace-compat: skipped \(path): \(reason) at byte offset \(offset) (counted as a decode error)")
    }

    static func stderr(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Progress on stderr for large inputs: at most one line every two seconds, only when the
    /// audit has more than 200 files or 16 MB.
    final class Progress {
        let total: Int
        let totalBytes: Int
        let enabled: Bool
        var last = Date()
        var printed = false

        init(total: Int, totalBytes: Int, enabled: Bool) {
            self.total = total
            self.totalBytes = totalBytes
            self.enabled = enabled && (total > 200 || totalBytes > 16 << 20)
        }

        func update(done: Int) {
            guard enabled, Date().timeIntervalSince(last) >= 2 else { return }
            last = Date()
            printed = true
            AuditCommand.stderr("audit: \(done)/\(total) files (\(totalBytes >> 20) MB in all)")
        }

        func finish() {
            if printed { AuditCommand.stderr("audit: \(total)/\(total) files done") }
        }
    }
}
