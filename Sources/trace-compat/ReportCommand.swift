import ArgumentParser
import CompatReport
import CompatRules
import Foundation

/// `trace-compat report merge|render|check`: work with saved JSON reports.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Merge, render or check saved JSON reports.",
        subcommands: [Merge.self, Render.self, Check.self]
    )

    static func load(_ path: String) throws -> Report {
        do {
            guard let r = try ReportFile.read(from: path) else { throw ValidationError("\(path): no such file") }
            return r
        } catch let e as ValidationError {
            throw e
        } catch {
            throw ValidationError("\(path): not a trace-compat report (\(error))")
        }
    }

    struct Merge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge reports exactly (counts add, first/last seen take min/max), listing each source.",
            discussion: """
                Each source is a JSON report file or a node's live report, \
                http://HOST:PORT/compat/report.json (fetched in parallel, each within --timeout). \
                A node that cannot be fetched gets one line on standard error and the others are \
                still merged; --strict exits 1 instead. A file that cannot be read is always an error.
                """)
        @Argument(help: "Two or more JSON reports: files or http://HOST:PORT/compat/report.json URLs.")
        var reports: [String]
        @Option(name: .shortAndLong, help: "Write the merged JSON here (default: standard output).")
        var output: String?
        @Option(help: "Seconds to wait for each node's report (connect and answer; default 5).")
        var timeout: Double = ReportFetchLimits.defaultTimeoutSeconds
        @Flag(help: "Exit 1 when a node's report cannot be fetched, instead of merging the others.")
        var strict = false

        func validate() throws {
            guard reports.count >= 2 else { throw ValidationError("report merge needs at least two reports") }
            guard timeout > 0, timeout <= 3600 else { throw ValidationError("--timeout must be between 0 and 3600 seconds") }
            for source in reports {
                do { _ = try ReportFetcher.Target.parse(source) } catch { throw ValidationError("\(source): \(error)") }
            }
        }

        func run() async throws {
            let loaded = try await ReportCommand.loadAll(reports, timeoutSeconds: timeout)
            var failed = 0
            var inputs: [(source: String, report: Report)] = []
            for (source, result) in zip(reports, loaded) {
                switch result {
                case .success(let report):
                    inputs.append((source, report))
                case .failure(let error):
                    failed += 1
                    FileHandle.standardError.write(Data("report merge: \(source): unreachable: \(error)\n".utf8))
                }
            }
            if failed > 0 && strict {
                FileHandle.standardError.write(Data("report merge: \(failed) of \(reports.count) report(s) could not be fetched (--strict)\n".utf8))
                throw ExitCode(1)
            }
            guard !inputs.isEmpty else {
                FileHandle.standardError.write(Data("report merge: no report could be fetched\n".utf8))
                throw ExitCode(1)
            }
            // Each input that was merged is listed in `sources` (an unreachable node is not).
            let bytes = ReportRenderer.json(Report.merging(inputs))
            if let output {
                try ReportFile.writeAtomically(bytes, to: output)
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
    }

    /// Loads every source in argument order: files at once (a bad file throws), URLs fetched in
    /// parallel, at most `ReportFetchLimits.maxConcurrentFetches` at a time; a URL that cannot be
    /// fetched or is not a report comes back as a failure for the caller to report or skip.
    static func loadAll(_ sources: [String], timeoutSeconds: Double) async throws -> [Result<Report, ReportFetcher.FetchError>] {
        var results = [Result<Report, ReportFetcher.FetchError>?](repeating: nil, count: sources.count)
        var remote: [(Int, ReportFetcher.Target)] = []
        for (i, source) in sources.enumerated() {
            if let target = try ReportFetcher.Target.parse(source) {
                remote.append((i, target))
            } else {
                results[i] = .success(try load(source))
            }
        }
        try await withThrowingTaskGroup(of: (Int, Result<Report, ReportFetcher.FetchError>).self) { group in
            var next = 0
            func startNext() {
                guard next < remote.count else { return }
                let (index, target) = remote[next]
                next += 1
                group.addTask {
                    do {
                        let body = try await ReportFetcher.fetch(target, timeoutSeconds: timeoutSeconds)
                        do {
                            return (index, .success(try ReportRenderer.decode(json: body)))
                        } catch {
                            return (index, .failure(.init(description: "not a trace-compat report (\(error))")))
                        }
                    } catch {
                        return (index, .failure(.init(description: ReportFetcher.reason(error, timeoutSeconds: timeoutSeconds))))
                    }
                }
            }
            for _ in 0..<min(ReportFetchLimits.maxConcurrentFetches, remote.count) { startNext() }
            while let (index, result) = try await group.next() {
                results[index] = result
                startNext()
            }
        }
        return results.map { $0! }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render a JSON report as HTML and/or Markdown (Markdown on standard output by default).")
        @Argument(help: "A JSON report.")
        var report: String
        @Option(help: "Write the self-contained HTML page here.")
        var html: String?
        @Option(help: "Write the Markdown report here.")
        var markdown: String?

        func run() async throws {
            let r = try ReportCommand.load(report).finalized()
            if let html { try ReportFile.writeAtomically(Array(ReportRenderer.html(r).utf8), to: html) }
            if let markdown { try ReportFile.writeAtomically(Array(ReportRenderer.markdown(r).utf8), to: markdown) }
            if html == nil && markdown == nil { print(ReportRenderer.markdown(r), terminator: "") }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a report's summary; exit 3 when a finding at or above --fail-on exists.")
        @Argument(help: "A JSON report.")
        var report: String
        @Option(name: .customLong("fail-on"), help: "breaks, changes or check.")
        var failOn: Severity = .breaks

        func run() async throws {
            let r = try ReportCommand.load(report).finalized()
            print(ReportRenderer.summary(r), terminator: "")
            let findings = r.findings(atLeast: failOn).count
            if findings > 0 {
                // Same line as `audit --fail-on`: a CI log says why the gate failed, not just "exit 3".
                AuditCommand.stderr("trace-compat report check: \(findings) finding(s) at or above '\(failOn.rawValue)': exit 3")
                throw ExitCode(3)
            }
        }
    }
}
