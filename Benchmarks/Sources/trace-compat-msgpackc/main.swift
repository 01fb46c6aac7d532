import Foundation
import Logging
import TraceCompatProxy

// `trace-compat-msgpackc proxy [the flags of trace-compat proxy]`: the same proxy as
// `trace-compat proxy` (configuration loading, forwarding, tee, analysis queue, threads and
// priority, admin routes), except that each analysis thread only unpacks trace payloads with
// msgpack-c (`MsgpackCConsumer`): the floor the analysis is judged against in the proxy, under
// the same conditions (issue 12; Benchmarks/harness/analysis_cost.py, `make bench-analysis-proxy`).
// Benchmark only: msgpack-c is never linked into `trace-compat`.

/// The flags as `TRACE_COMPAT_<KEY>` variables over the process's environment, read by the same
/// loader `trace-compat proxy` uses (a flag overrides the variable, as there): `--queue-capacity 64`
/// sets `queue_capacity`, `--no-analysis` sets `analysis` false, a flag without a value true.
/// `--config` names the YAML file.
func configurationEnvironment(_ arguments: [String]) throws -> (environment: [String: String], configFile: String?) {
    var environment = ProcessInfo.processInfo.environment
    var configFile: String?
    var i = 0
    while i < arguments.count {
        let argument = arguments[i]
        guard argument.hasPrefix("--"), argument.count > 2 else { throw ArgumentError(message: "unexpected argument \(argument)") }
        var name = String(argument.dropFirst(2))
        var value: String
        if let equals = name.firstIndex(of: "=") {
            value = String(name[name.index(after: equals)...])
            name = String(name[..<equals])
        } else if i + 1 < arguments.count && !arguments[i + 1].hasPrefix("--") {
            value = arguments[i + 1]
            i += 1
        } else if name.hasPrefix("no-") {
            name = String(name.dropFirst(3))
            value = "false"
        } else {
            value = "true"
        }
        i += 1
        if name == "config" {
            configFile = value
            continue
        }
        environment["TRACE_COMPAT_" + name.uppercased().replacingOccurrences(of: "-", with: "_")] = value
    }
    return (environment, configFile)
}

struct ArgumentError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.first == "proxy" else {
    FileHandle.standardError.write(Data("usage: trace-compat-msgpackc proxy [the flags of trace-compat proxy]\n".utf8))
    exit(64)
}
let logger = Logger(label: "trace-compat-msgpackc.proxy")
do {
    let (environment, configFile) = try configurationEnvironment(Array(arguments.dropFirst()))
    let configuration = try await ProxyConfigurationLoader.load(flags: [:], configFile: configFile, environment: environment)
    logger.warning("MSGPACK-C BASELINE: analysis threads only unpack trace payloads with msgpack-c; the report holds no findings")
    try await ProxyService.runUntilSignalled(configuration: configuration, logger: logger, environment: environment,
                                             analysisConsumers: .custom { MsgpackCConsumer(store: $0) })
} catch {
    FileHandle.standardError.write(Data("trace-compat-msgpackc proxy: \(error)\n".utf8))
    exit(1)
}
