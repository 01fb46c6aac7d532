// swift-tools-version: 6.2
// trace-compat: a proxy between dd-trace-py v3 apps and the Datadog Agent that reports what
// dd-trace-py v4 would break. See README.md for the modules and ../shared/DESIGN.md for the data flow.
// The benchmarks are a separate package in Benchmarks/ so that CI never builds them.
import PackageDescription

let package = Package(
    name: "trace-compat",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "trace-compat", targets: ["trace-compat"]),
        // The benchmark harness's load generator and agent stub: built and tested here, not shipped
        // in `trace-compat`.
        .executable(name: "trace-replay", targets: ["trace-replay"]),
        .library(name: "MessagePack", targets: ["MessagePack"]),
        .library(name: "TracePayload", targets: ["TracePayload"]),
        .library(name: "CompatRules", targets: ["CompatRules"]),
        .library(name: "CompatReport", targets: ["CompatReport"]),
        .library(name: "TraceAnalysis", targets: ["TraceAnalysis"]),
        .library(name: "CMsgpack", targets: ["CMsgpack"]),
        // The proxy as a library, for Benchmarks' `trace-compat-msgpackc` (the same proxy with a
        // msgpack-c stand-in on its analysis threads; `AnalysisQueueConsumer`).
        .library(name: "TraceCompatProxy", targets: ["TraceCompatProxy"]),
        // Deterministic random numbers for the test suites and the benchmarks' generated payloads.
        .library(name: "SeededRandom", targets: ["SeededRandom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0", traits: ["YAML"]),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        // msgpack-c, the reference decoder: an oracle for tests and a baseline for benchmarks.
        .systemLibrary(
            name: "CMsgpack",
            pkgConfig: "msgpack",
            providers: [.apt(["libmsgpack-dev"])]
        ),
        // glibc's <malloc.h> (mallopt), for the proxy's malloc settings (MallocTuning).
        .systemLibrary(name: "CMalloc"),
        // Zero-copy msgpack reader over borrowed bytes.
        .target(name: "MessagePack"),
        // The CLI's text output: the one JSON string escaper (JSONWriter), Python's bytes repr, tables.
        .target(name: "TextOutput"),
        // The hop-by-hop header names (RFC 9110 §7.6.1): the one list, for the proxy and the replayer.
        .target(name: "HopByHop"),
        // ASCII case-insensitive equality with a lowercase literal: the one compare for HTTP field
        // names, for the proxy's framing and the analysis's tracer headers.
        .target(name: "ASCIICase"),
        // What the Datadog Agent answers, by method and path (I/O-free): sink mode and the replay stub.
        .target(name: "AgentImitation"),
        // Datadog trace payloads (v0.4, v0.5) as SpanView visits.
        .target(name: "TracePayload", dependencies: ["MessagePack"]),
        // The dd-trace-py v4 rules, one file each.
        .target(name: "CompatRules", dependencies: ["TracePayload"]),
        // Aggregation, JSON schema, Markdown/HTML rendering, persistence.
        .target(name: "CompatReport", dependencies: ["CompatRules"]),
        // One captured request (headers + body) in, findings into a report out: shared by proxy and audit.
        .target(name: "TraceAnalysis", dependencies: ["TracePayload", "CompatRules", "CompatReport", "ASCIICase"]),
        // SwiftNIO server + upstream pool, the tee into the analyzer, admin routes, metrics.
        .target(
            name: "TraceCompatProxy",
            dependencies: [
                "TraceAnalysis", "CompatReport", "CMalloc", "TextOutput", "HopByHop", "AgentImitation", "ASCIICase",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Configuration", package: "swift-configuration"),
            ]
        ),
        // Load generator and agent stub for the benchmark harness. Captured traffic is read with
        // TraceAnalysis's `CaptureSet`, the loader `audit` uses (no NIO, no proxy in it).
        .target(
            name: "TraceReplay",
            dependencies: [
                "TracePayload", "TraceAnalysis", "AgentImitation", "HopByHop",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .executableTarget(
            name: "trace-compat",
            dependencies: [
                "MessagePack", "TracePayload", "CompatRules", "CompatReport", "TraceAnalysis",
                "TraceCompatProxy", "TextOutput",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "trace-replay",
            dependencies: [
                "TraceReplay",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // SplitMix64, the one seeded generator of the tests and benchmarks (not linked into the tools).
        .target(name: "SeededRandom"),
        .testTarget(name: "TextOutputTests", dependencies: ["TextOutput"]),
        .testTarget(name: "MessagePackTests", dependencies: ["MessagePack", "CMsgpack", "SeededRandom"]),
        .testTarget(name: "TracePayloadTests", dependencies: ["TracePayload", "MessagePack", "CMsgpack", "SeededRandom"]),
        .testTarget(name: "CompatRulesTests", dependencies: ["CompatRules", "TracePayload", "SeededRandom"]),
        .testTarget(name: "CompatReportTests", dependencies: ["CompatReport", "CompatRules"]),
        .testTarget(name: "TraceAnalysisTests", dependencies: ["TraceAnalysis", "CompatReport", "TracePayload"]),
        .testTarget(
            name: "TraceCompatProxyTests",
            dependencies: [
                "TraceCompatProxy", "TraceAnalysis", "CompatReport", "SeededRandom",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "TraceReplayTests",
            // trace-replay: its tests run the built binary (the CLI a harness calls).
            dependencies: ["TraceReplay", "TraceAnalysis", "AgentImitation", "trace-replay", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Runs the built `trace-compat` binary as a real process (audit exit codes, decode output).
        .testTarget(name: "TraceCompatCLITests", dependencies: ["trace-compat"]),
    ]
)
