import ArgumentParser
import Foundation
import NIOCore

/// `trace-compat`: the proxy, the offline audit and the report tools (the benchmark replayer is
/// its own executable, `trace-replay`).
///
/// `main()` is ours rather than the library's so that every failure is ONE line on stderr that names
/// the command and the file or address at fault: an argument error gets that line plus the failing
/// subcommand's own usage (the library's default prints the root command's usage and a pointer to
/// help), and an error thrown while running (a missing report, a bad config value, an address in
/// use) exits 1 without any usage, since the arguments were fine.
@main
struct TraceCompat: AsyncParsableCommand {
    /// The one table of exit codes, shown by `trace-compat --help` and copied in README.md.
    static let exitCodes = """
        Exit status (every command; also in README.md):
          0   done; with --fail-on, the gate passed
          1   a failure: a path or report that does not exist or cannot be read,
              nothing could be audited or decoded, a report that cannot be written,
              a proxy that cannot start (address in use, bad config)
          3   the gate failed (audit / report check with --fail-on): a finding at
              or above that severity, or (audit) an input that could not be
              decoded, unless --allow-decode-errors
          64  an argument error (unknown option, missing or invalid value):
              one line, then the command's usage
        """

    static let configuration = CommandConfiguration(
        commandName: "trace-compat",
        abstract: "Find what dd-trace-py v4 would break in your real traffic, before you upgrade.",
        discussion: exitCodes,
        subcommands: [ProxyCommand.self, AuditCommand.self, ReportCommand.self, DecodeCommand.self]
    )

    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: ParsableCommand
        do {
            command = try parseAsRoot(arguments)
        } catch {
            // --help, --version and the like (the library wraps them): its own output and status.
            if error is ExitCode || exitCode(for: error) == .success { exit(withError: error) }
            let failing = failingCommand(arguments)
            let name = commandPath(failing)
            let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            let usage = usageString(for: failing).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            printError("\(name): \(message.prefix(1).lowercased() + message.dropFirst())")
            printError("usage: \(usage)  (more: \(name) --help)")
            Foundation.exit(exitCode(for: error).rawValue)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch where error is CleanExit || exitCode(for: error) == .success {
            exit(withError: error)  // `--help` is parsed as a command whose run() "fails" with the help text
        } catch {
            let name = commandPath(type(of: command))
            printError("\(name): \(runFailure(error, in: command))".replacingOccurrences(of: "\n", with: " "))
            Foundation.exit(ExitCode.failure.rawValue)
        }
    }

    /// What went wrong while running, in one line. A listen address in use (EADDRINUSE from bind(2))
    /// names the address and what to do, since the usual cause is a second `make run`.
    static func runFailure(_ error: Error, in command: ParsableCommand) -> String {
        if let io = error as? IOError, io.errnoCode == EADDRINUSE, let proxy = command as? ProxyCommand {
            let address = proxy.listen ?? ProcessInfo.processInfo.environment["TRACE_COMPAT_LISTEN"] ?? "the listen address"
            return "cannot listen on \(address): address already in use (another trace-compat running? stop it, or choose another address with --listen HOST:PORT)"
        }
        if let validation = error as? ValidationError { return validation.message }
        return "\(error)"
    }

    /// The deepest command the arguments name (`report merge …` → `ReportCommand.Merge`).
    static func failingCommand(_ arguments: [String]) -> ParsableCommand.Type {
        var current: ParsableCommand.Type = TraceCompat.self
        for argument in arguments where !argument.hasPrefix("-") {
            guard let next = current.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            current = next
        }
        return current
    }

    /// `trace-compat report merge` for `ReportCommand.Merge`.
    static func commandPath(_ command: ParsableCommand.Type) -> String {
        func path(_ from: ParsableCommand.Type) -> [String]? {
            if from == command { return [from._commandName] }
            for sub in from.configuration.subcommands {
                if let rest = path(sub) { return [from._commandName] + rest }
            }
            return nil
        }
        return (path(TraceCompat.self) ?? ["trace-compat"]).joined(separator: " ")
    }

    static func printError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
