/// Every bound of the analysis itself, in one place, each with the reason for its value (the
/// report's bounds, groups and apps, are `ReportLimits` in CompatReport).
public enum AnalysisLimits {
    /// How often an analysis thread hands its tables to the store at most (nanoseconds). 1 s:
    /// every reader of the report (the flush, the admin routes and `/metrics`, shutdown) goes
    /// through `ReportStore.snapshot()`, which asks each thread to hand over first, so the
    /// interval only bounds how far behind a snapshot taken while a thread is busy can be. A
    /// hand-over costs about as much as analysing twenty small payloads (~1 M instructions for a
    /// small-payload app with its canary profile, the tables then grown again): at 1,000
    /// payloads/s, 250 ms made it ~3.1 k instructions per payload (7%), 1 s ~1 k
    /// (`Benchmarks/RESULTS.md`, "A hand-over a second").
    public static let handOverInterval: UInt64 = 1_000_000_000
    /// Bytes of a resource read by the normaliser (`ResourceShape`). 4 KiB: SQL longer than that
    /// is grouped by its first 4 KiB, and a hostile 1 MB resource costs no more than this.
    public static let resourceBytesRead = 4096
    /// Bytes of a normalised resource kept (grouping key and report text). 256: the report's
    /// tables show a resource in one or two lines.
    public static let resourceBytesKept = 256
    /// Raw resources whose normalised hash is remembered (`AnalysisState.shapes`). 4,096: the
    /// distinct queries of a few apps; 64 KiB; cleared when full, so hostile traffic costs only
    /// the normalising it would cost anyway.
    public static let shapesCached = 4096
    /// Metrics keys whose V4-TAG-NUMERIC verdict is remembered (`SpanWalk.metricVerdicts`).
    /// 4,096: ddtrace and the integrations write a few dozen; cleared when full, so keys made
    /// from request data cost only the judging they would cost anyway.
    public static let metricVerdictsCached = 4096
    /// Request tallies (app, format, tracer and Python version) kept before they are folded into
    /// the pending services (`AnalysisState.requestTallies`, searched linearly). 64: a node's
    /// apps times their versions; beyond, they are folded early, nothing is lost.
    public static let requestTallies = 64
    /// v0.5 string-table indices whose facts as a key are kept for the payload (`SpanWalk.tableKeys`,
    /// 16 bytes each). 4,096: the keys of a payload come first in its string table (the tracer
    /// adds strings as it meets them), and a few dozen keys repeat on every span; a key beyond
    /// is worked out on every span, as all were before (64 KiB at most).
    public static let tableKeysCached = 4096
    /// The v0.5 payloads from which keys and hashes are remembered per string for the payload
    /// (`SpanWalk.tableKeys`, `SpanStringHashes`): 16 KiB, a few dozen spans. Below, too few spans
    /// share each string to pay for remembering it: the 1.7 kB manual-v05 payload (15 spans) took
    /// 6 % more instructions with it, the 56 kB django-full-v05 one (409 spans) 13 % fewer.
    public static let rememberedFromBytes = 16 * 1024
    /// Strings' hashes remembered by address on a v0.5 payload (`SpanStringHashes`; a power of
    /// two). 256: a payload's apps, services, operations and resources; 8 KiB; a string whose
    /// entry was taken by another is hashed again, as every string was before.
    public static let hashesRemembered = 256
    /// Flagged meta entries (`SpanFacts.flagged`) of earlier spans left in the analyzer's buffer
    /// before it is emptied. 64: emptying it (`removeAll`) once per few dozen flagged entries
    /// instead of once per span; 64 entries of 56 bytes, plus one span's own (at most its meta
    /// map's entries, which the decoder's limits bound).
    public static let flaggedKept = 64
    /// Other languages counted by name between two hand-overs (the header is the client's text).
    public static let languages = 16
}
