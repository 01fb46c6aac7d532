import ArgumentParser
import CompatReport
import CompatRules
import Foundation
import TraceAnalysis

extension Severity: ExpressibleByArgument {}

/// `trace-compat audit PATH…`: judges captured traffic offline with the same Analyzer and report as
/// the proxy. A CI gate must never pass on inputs it could not read, so: a missing path, or inputs of
/// which not one could be audited, exit 1; with `--fail-on`, a finding at or above that severity, or
/// any input that could not be decoded (unless `--allow-decode-errors`), exits 3. The exit codes of
/// every command are in one table: `TraceCompat.exitCodes`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Judge captured tracer traffic (files or folders) against the dd-trace-py v4 rules.",
        discussion: """
            Inputs are laid out like the fixtures: NNN-METHOD-path.headers.json with the body beside it \
            (.msgpack trace payloads, .body.json telemetry), optionally NNN-GET-info.response.json with the \
            agent's /info answer. A bare .msgpack is judged by its name (v0.4 or v0.5). A file that cannot \
            be decoded gets one line on stderr and is counted in the report; the rest is audited.

            Exit status: 0 audited (and the gate passed); 1 a path does not exist, nothing could be \
            audited, or a report could not be written; 3 with --fail-on: a finding at or above that \
            severity, or an input that could not be decoded (unless --allow-decode-errors).
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
    @Option(name: .customLong("fail-on"), help: "Exit 3 when a finding of this severity or worse exists, or an input could not be decoded: breaks, changes or check.")
    var failOn: Severity?
    @Flag(name: .customLong("allow-decode-errors"), help: "With --fail-on: inputs that cannot be decoded do not fail the gate (they are still reported).")
    var allowDecodeErrors = false
    @Flag(help: "Keep no value excerpts in the report (types and ids only).")
    var redact = false
    @Option(name: .customLong("sample-limit"), help: "Samples kept per finding (default 5), as `proxy --sample-limit`.")
    var sampleLimit: Int?
    @Option(name: .customLong("samples"), help: .hidden)
    var deprecatedSamples: Int?
    @Option(name: .customLong("agent-info"), help: "A file with the agent's GET /info answer (JSON), to check the agent version.")
    var agentInfo: String?
    @Flag(help: "No progress on stderr.")
    var quiet = false

    func run() async throws {
        if deprecatedSamples != nil { Self.stderr("trace-compat audit: --samples is deprecated, use --sample-limit") }
        let store = ReportStore(sampleLimit: sampleLimit ?? deprecatedSamples ?? 5, redact: redact)
        store.setProvenance(Report.Provenance(command: "audit"))
        let analyzer = Analyzer(store: store)
        let set: CaptureSet
        do {
            set = try CaptureSet.scan(paths)
        } catch let error as CaptureSet.CaptureError {
            Self.stderr("trace-compat audit: \(error.path): \(error.reason)")
            throw ExitCode(1)
        }
        var entries = set.entries
        if let agentInfo { entries.append(.agentInfo(agentInfo)) }
        guard !entries.isEmpty else {
            Self.stderr("trace-compat audit: nothing to audit: no captured traffic (\(CaptureSet.acceptedFiles)) in \(paths.joined(separator: ", "))")
            throw ExitCode(1)
        }
        let progress = Progress(total: entries.count, totalBytes: set.totalBytes, enabled: !quiet)
        var undecodable = 0
        for (i, entry) in entries.enumerated() {
            if !Self.audit(entry, with: analyzer) { undecodable += 1 }
            progress.update(done: i + 1)
        }
        progress.finish()
        guard undecodable < entries.count else {
            Self.stderr("trace-compat audit: nothing audited: none of the \(entries.count) input(s) could be decoded (see the lines above)")
            throw ExitCode(1)
        }

        let report = store.snapshot()
        do {
            if let json { try ReportFile.writeAtomically(ReportRenderer.json(report), to: json) }
            if let markdown { try ReportFile.writeAtomically(Array(ReportRenderer.markdown(report).utf8), to: markdown) }
            if let html { try ReportFile.writeAtomically(Array(ReportRenderer.html(report).utf8), to: html) }
        } catch {
            Self.stderr("trace-compat audit: cannot write the report: \(error)")
            throw ExitCode(1)
        }
        print(ReportRenderer.summary(report), terminator: "")
        guard let failOn else { return }
        var failed = false
        let findings = report.findings(atLeast: failOn).count
        if findings > 0 {
            Self.stderr("trace-compat audit: \(findings) finding(s) at or above '\(failOn.rawValue)': exit 3")
            failed = true
        }
        if undecodable > 0 && !allowDecodeErrors {
            Self.stderr("trace-compat audit: \(undecodable) input(s) could not be decoded, so the gate cannot pass: exit 3 (--allow-decode-errors to judge the rest)")
            failed = true
        }
        if failed { throw ExitCode(3) }
    }

    /// Judges one entry; an unreadable or undecodable one gets one line on stderr and returns false.
    @discardableResult
    static func audit(_ entry: CaptureSet.Entry, with analyzer: Analyzer) -> Bool {
        switch entry {
        case .request(let headers, let body):
            do {
                let request = try CaptureSet.load(headers: headers, body: body)
                let outcome = analyzer.analyze(request)
                if let e = outcome.decodeError { damaged(request.source, e.reason, e.offset); return false }
                return true
            } catch {
                analyzer.recordUnreadable(source: error.path, reason: error.reason, offset: error.offset)
                damaged(error.path, error.reason, error.offset)
                return false
            }
        case .agentInfo(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                analyzer.recordUnreadable(source: path, reason: "cannot read the file", offset: 0)
                damaged(path, "cannot read the file", 0)
                return false
            }
            let mtime = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date()
            let outcome = analyzer.analyzeAgentInfo(body: Array(data), receivedAt: mtime, source: path)
            if let e = outcome.decodeError { damaged(path, e.reason, e.offset); return false }
            return true
        case .foreign(let path):
            let reason = CaptureSet.notTrafficReason
            analyzer.recordUnreadable(source: path, reason: reason, offset: 0)
            damaged(path, reason, 0)
            return false
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
