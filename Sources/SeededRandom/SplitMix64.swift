/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA
/// 2014): a tiny seeded generator, so that every generated test case, mutation and benchmark
/// payload is the same on every run and machine, and a failure can be replayed from its seed.
///
/// Not for anything secret. One copy for the test suites and the benchmarks' generated payloads.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<n` (`n` > 0), by modulo: the slight bias is harmless for test data and
    /// keeps the sequence the generated payloads were recorded with.
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
