/// The bounds of how `AnalysisQueue` wakes its threads, each with the reason for its value. The
/// queue's caps (payloads and bytes waiting, `queue_capacity` / `queue_max_bytes`) are
/// configuration (`ProxyLimits`); these only decide *when* a thread looks at what is waiting, so
/// memory stays bounded by the caps and `not_analysed` stays exact whatever they are.
///
/// Why: a thread woken once per payload costs more than the analysis of a small payload. Measured
/// in the proxy at a paced 1,000 small payloads/s (Benchmarks/RESULTS.md, "Analysis in the proxy
/// (issue 12)"): the offer's broadcast, the futex wake of a `SCHED_IDLE` thread and its context
/// switch, and a thread that starts every payload on cold caches.
public enum AnalysisQueueLimits {
    /// How long a thread that emptied the queue waits for more before it looks again (a timed
    /// wait no offer interrupts): 100 ms. At 1,000 payloads/s a thread then wakes ~10 times a
    /// second for ~100 payloads each instead of 1,000 times for one, and offers make no system
    /// call at all. Measured in the proxy at 1,000 small payloads/s (RESULTS.md), the analysis
    /// thread's CPU per payload fell with the linger: 38-46 µs waking per payload, 26-32 µs at
    /// 5 ms, 18-21 µs at 20 ms, 16-17 µs at 50 ms; then, after later passes, 14.0 µs at 50 ms
    /// (64 payloads) and 12.5 µs at 100 ms (128 payloads), and msgpack-c's seat 13.6 and 12.5 µs
    /// (a thread that starts on cold caches pays it once per batch, not per payload). What it
    /// delays is analysis, never forwarding: the report is handed over every second anyway
    /// (`AnalysisLimits.handOverInterval`), and `waitUntilIdle` and `drain` end a linger at
    /// once. A linger that finds nothing parks the thread (an untimed wait, woken by the next
    /// offer), so an idle proxy does not poll.
    public static let lingerNanoseconds: UInt64 = 100_000_000

    /// Payloads waiting that end a linger early (the offer that reaches it wakes a thread): 128,
    /// or a quarter of `queue_capacity` if that is smaller: above 1,280 payloads/s this, not the
    /// linger, decides when a thread wakes (every 20 ms at 6,380/s), well before the queue (1,024
    /// by default) is full.
    public static let lingerWakePayloads = 128

    /// Bytes waiting that end a linger early: 1 MiB, or a quarter of `queue_max_bytes` if that is
    /// smaller. One Django-sized payload (~100-200 kB) lingers; a 5 MB payload wakes a thread at
    /// once, so big payloads never wait for the linger while the byte cap fills.
    public static let lingerWakeBytes = 1 << 20

    /// Payloads a thread takes under one lock at most: 64. Bounds the thread's local batch, and
    /// leaves the rest to the other analysis threads when there are several. Measured with 64 and
    /// with 256 (threshold and batch) at a 50 ms linger: the same within the noise, so the smaller.
    public static let batchPayloads = 64

    /// Body bytes a thread takes under one lock at most (beyond its first payload): 1 MiB. Bytes
    /// taken leave `queue_max_bytes` (they are being analysed, as one payload per thread was
    /// before batches), so this keeps what analysis holds beyond that cap to 1 MiB plus one
    /// payload per thread, as small as before up to a Django-sized payload.
    public static let batchBytes = 1 << 20
}
