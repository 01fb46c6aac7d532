import Configuration
import Foundation
import Testing
import TraceCompatProxy

/// flag > `TRACE_COMPAT_*` environment variable > config file > default, without a process.
@Suite struct ConfigurationLoaderTests {
    static func flags(_ values: [String: ConfigContent]) -> [AbsoluteConfigKey: ConfigValue] {
        Dictionary(uniqueKeysWithValues: values.map { (AbsoluteConfigKey([$0.key]), ConfigValue($0.value, isSecret: false)) })
    }

    @Test func eachSourceOverridesTheOnesBelowIt() async throws {
        let dir = try temporaryDirectory("loader")
        let file = dir.appendingPathComponent("tc.yaml").path
        try """
        upstream_timeout: 3
        header_timeout: 11
        body_timeout: 12
        idle_timeout: 13
        socket_mode: "0700"
        sample_limit: 2
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let environment = ["TRACE_COMPAT_BODY_TIMEOUT": "22", "TRACE_COMPAT_IDLE_TIMEOUT": "23", "TRACE_COMPAT_SAMPLE_LIMIT": "4"]
        let configuration = try await ProxyConfigurationLoader.load(flags: Self.flags(["idle_timeout": .double(33)]),
                                                                   configFile: file, environment: environment)
        #expect(configuration.upstreamTimeout == 3)     // file
        #expect(configuration.headerTimeout == 11)      // file
        #expect(configuration.bodyTimeout == 22)        // env over file
        #expect(configuration.idleTimeout == 33)        // flag over env over file
        #expect(configuration.sampleLimit == 4)         // env over file
        #expect(configuration.socketMode == 0o700)
        #expect(configuration.flushInterval == 10)      // default
    }

    @Test func theDefaultsAreNginxsTimeoutsAndTheAgentsSocketMode() async throws {
        let configuration = try await ProxyConfigurationLoader.load(flags: [:], configFile: nil, environment: [:])
        #expect(configuration.headerTimeout == 60)
        #expect(configuration.bodyTimeout == 60)
        #expect(configuration.idleTimeout == 75)
        #expect(configuration.socketMode == 0o722)
        #expect(configuration == ProxyConfiguration())
    }

    /// One analysis thread per core at `idle` (SCHED_IDLE threads only take spare CPU), one
    /// core left to forwarding at `low`; an explicit value wins whatever the priority.
    @Test func analysisThreadsDefaultToTheCoresTheirPriorityMayUse() async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(ProxyConfiguration.defaultAnalysisThreads(.idle, cores: 8) == 8)
        #expect(ProxyConfiguration.defaultAnalysisThreads(.low, cores: 8) == 7)
        #expect(ProxyConfiguration.defaultAnalysisThreads(.low, cores: 1) == 1)
        let idle = try await ProxyConfigurationLoader.load(flags: [:], configFile: nil, environment: [:])
        #expect(idle.analysisThreads == max(1, cores))
        let low = try await ProxyConfigurationLoader.load(flags: [:], configFile: nil, environment: ["TRACE_COMPAT_ANALYSIS_PRIORITY": "low"])
        #expect(low.analysisThreads == max(1, cores - 1))
        let set = try await ProxyConfigurationLoader.load(flags: Self.flags(["analysis_threads": .int(3)]), configFile: nil,
                                                          environment: ["TRACE_COMPAT_ANALYSIS_PRIORITY": "low"])
        #expect(set.analysisThreads == 3)
        #expect(ProxyConfiguration(analysisPriority: .low).analysisThreads == max(1, cores - 1))
    }

    @Test func theConfigFileIsFoundThroughTheEnvironment() async throws {
        let dir = try temporaryDirectory("loader-env")
        let file = dir.appendingPathComponent("tc.yaml").path
        try "header_timeout: 5\n".write(toFile: file, atomically: true, encoding: .utf8)
        let configuration = try await ProxyConfigurationLoader.load(flags: [:], configFile: nil, environment: ["TRACE_COMPAT_CONFIG": file])
        #expect(configuration.headerTimeout == 5)
    }

    @Test func badValuesNameTheirKey() async throws {
        await #expect(throws: ProxyConfigurationError.self) {
            try await ProxyConfigurationLoader.load(flags: [:], configFile: nil, environment: ["TRACE_COMPAT_SOCKET_MODE": "rw-r--r--"])
        }
        do {
            _ = try await ProxyConfigurationLoader.load(flags: Self.flags(["header_timeout": .double(0)]), configFile: nil, environment: [:])
            Issue.record("header_timeout 0 accepted")
        } catch {
            #expect("\(error)".contains("header_timeout"))
        }
    }
}
