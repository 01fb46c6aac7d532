import ArgumentParser

/// `trace-compat`: the proxy, the offline audit, the report tools and the benchmark replayer.
@main
struct TraceCompat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace-compat",
        abstract: "Find what dd-trace-py v4 would break in your real traffic, before you upgrade.",
        subcommands: [ProxyCommand.self, AuditCommand.self, ReportCommand.self, DecodeCommand.self, ReplayCommand.self]
    )
}
