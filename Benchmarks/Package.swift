// swift-tools-version: 6.2
// trace-compat benchmarks: a separate package so that CI never builds them (see RESULTS.md).
// Run from this folder: `swift package benchmark` (or `make bench-decoder` at the repo root).
import PackageDescription

let package = Package(
    name: "trace-compat-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "trace-compat", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // For trace-compat-msgpackc's Logger (the main package's version).
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // The msgpack-c baseline: msgpack_unpack_next plus a walk of every object, in C.
        .target(
            name: "MsgpackCBaseline",
            dependencies: [.product(name: "CMsgpack", package: "trace-compat")],
            linkerSettings: [.linkedLibrary("msgpackc")]
        ),
        // The payloads (fixtures, the generated one) and both decoders' full-decoding loops.
        .target(
            name: "DecoderWorkloads",
            dependencies: [
                .product(name: "MessagePack", package: "trace-compat"),
                .product(name: "TracePayload", package: "trace-compat"),
                .product(name: "SeededRandom", package: "trace-compat"),
                "MsgpackCBaseline",
            ]
        ),
        // Full decoding of the fixtures and of a generated 10 MB payload: TracePayloadDecoder vs msgpack-c.
        .executableTarget(
            name: "DecoderBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "TracePayload", package: "trace-compat"),
                "DecoderWorkloads",
            ],
            path: "Benchmarks/DecoderBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // One payload decoded in a loop, for callgrind/perf: `swift run -c release decoder-profile ours generated-v04`.
        .executableTarget(name: "decoder-profile", dependencies: ["DecoderWorkloads", .product(name: "TracePayload", package: "trace-compat")]),
        // The fixture payloads as captured requests and the Analyzer's side of the analysis comparison.
        .target(
            name: "AnalysisWorkloads",
            dependencies: [
                "DecoderWorkloads",
                .product(name: "MessagePack", package: "trace-compat"),
                .product(name: "TraceAnalysis", package: "trace-compat"),
                .product(name: "CompatReport", package: "trace-compat"),
                .product(name: "TracePayload", package: "trace-compat"),
            ]
        ),
        // One fixture analysed in a loop, for callgrind: `swift run -c release analysis-profile ours django-full-v04`.
        .executableTarget(
            name: "analysis-profile",
            dependencies: [
                "AnalysisWorkloads", "DecoderWorkloads", "MsgpackCBaseline",
                .product(name: "TraceAnalysis", package: "trace-compat"),
                .product(name: "CompatReport", package: "trace-compat"),
            ]
        ),
        // The proxy with msgpack-c on its analysis threads instead of the Analyzer: the floor the
        // analysis is judged against in the proxy, same queue, thread and priority
        // (`trace-compat-msgpackc proxy ...`; Benchmarks/harness/analysis_cost.py, `make bench-analysis-proxy`).
        .executableTarget(
            name: "trace-compat-msgpackc",
            dependencies: [
                "MsgpackCBaseline",
                .product(name: "TraceCompatProxy", package: "trace-compat"),
                .product(name: "CompatReport", package: "trace-compat"),
                .product(name: "TracePayload", package: "trace-compat"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
