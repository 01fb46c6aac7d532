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
            abstract: "Merge reports exactly (counts add, first/last seen take min/max).")
        @Argument(help: "Two or more JSON reports.")
        var reports: [String]
        @Option(name: .shortAndLong, help: "Write the merged JSON here (default: standard output).")
        var output: String?

        func validate() throws {
            guard reports.count >= 2 else { throw ValidationError("report merge needs at least two reports") }
        }

        func run() async throws {
            var merged = try ReportCommand.load(reports[0])
            for path in reports.dropFirst() { merged = merged.merged(with: try ReportCommand.load(path)) }
            let bytes = ReportRenderer.json(merged.finalized())
            if let output {
                try ReportFile.writeAtomically(bytes, to: output)
            } else {
                FileHandle.standardOutput.write(Data(bytes))
            }
        }
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
            if !r.findings(atLeast: failOn).isEmpty { throw ExitCode(3) }
        }
    }
}
