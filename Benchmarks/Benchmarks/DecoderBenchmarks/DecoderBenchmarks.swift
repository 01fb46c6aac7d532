import Benchmark
import DecoderWorkloads
import TracePayload

/// Full decoding of trace payloads: `TracePayloadDecoder` against msgpack-c's `msgpack_unpack_next`,
/// side by side, on every fixture under `../shared/fixtures/*/*.msgpack` and on a generated
/// 30,000-span v0.4 payload of about 10 MB.
///
/// "Full" means both sides do the work an analysis needs: ours visits every span, reads every
/// field and walks every `meta`, `metrics` and `meta_struct` entry; msgpack-c unpacks the whole
/// document into a zone and the C walk visits every object. Each side folds what it read into a
/// checksum passed to `blackHole`, so nothing can be optimised away.
///
/// Besides the framework's wall clock, throughput and malloc counts, each benchmark reports
/// `MB/s` and `spans/s` as custom metrics. Payloads under 16 KB are decoded 1,000 times per
/// iteration (the framework's `.kilo` scaling): the framework divides wall clock and malloc counts
/// by 1,000, so every row reads "per decode".
let benchmarks: @Sendable () -> Void = {
    let payloads = BenchmarkPayload.all()
    for payload in payloads {
        register(payload)
    }
}

/// The metrics shown for every benchmark.
extension BenchmarkMetric {
    static let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
    static let spansPerSecond = BenchmarkMetric.custom("spans/s", polarity: .prefersLarger, useScalingFactor: false)
}

func register(_ payload: BenchmarkPayload) {
    // Payloads under 16 KB are decoded 1,000 times per iteration so that the framework's own
    // per-iteration cost (clock, malloc counters) stays negligible next to the decode.
    let scaling: BenchmarkScalingFactor = payload.bytes.count < 16_384 ? .kilo : .one
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .megabytesPerSecond, .spansPerSecond],
        timeUnits: .microseconds,
        warmupIterations: 3,
        scalingFactor: scaling,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )
    let label = "\(payload.name) (\(payload.sizeLabel), \(payload.spans) spans)"
    let bytes = payload.bytes

    // One decoder reused across iterations, as the analyzer keeps one per thread: the v0.5 string
    // table's storage is allocated by the warm-up iterations, then reused.
    let warm = WarmDecoder()
    Benchmark("ours \(label)", configuration: configuration) { benchmark in
        bytes.withUnsafeBytes { buffer in
            let started = ContinuousClock.now
            for _ in benchmark.scaledIterations {
                blackHole(decodeOurs(&warm.decoder, buffer, payload.format))
            }
            report(benchmark, payload, repetitions: benchmark.scaledIterations.count, since: started)
        }
    }

    Benchmark("msgpack-c \(label)", configuration: configuration) { benchmark in
        bytes.withUnsafeBytes { buffer in
            let started = ContinuousClock.now
            for _ in benchmark.scaledIterations {
                blackHole(decodeMsgpackC(buffer))
            }
            report(benchmark, payload, repetitions: benchmark.scaledIterations.count, since: started)
        }
    }
}

final class WarmDecoder: @unchecked Sendable {
    var decoder = TracePayloadDecoder()
}

func report(_ benchmark: Benchmark, _ payload: BenchmarkPayload, repetitions: Int, since started: ContinuousClock.Instant) {
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    guard seconds > 0 else { return }
    let n = Double(repetitions)
    benchmark.measurement(.megabytesPerSecond, Int(Double(payload.bytes.count) * n / seconds / 1_000_000))
    benchmark.measurement(.spansPerSecond, Int(Double(payload.spans) * n / seconds))
}
