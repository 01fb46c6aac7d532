#if canImport(Glibc)
import CMalloc
#endif

/// glibc malloc settings for a proxy that moves large bodies through short-lived buffers.
///
/// With glibc's defaults, a thread's arena gives memory back to the kernel as soon as 128 KiB sit
/// free at its top, and the event loops then fault the same pages back in on the next read:
/// `perf` on 5 MB payloads put a third of the forwarding CPU in page faults, `madvise` and the
/// kernel zeroing pages (see Benchmarks/RESULTS.md). Keeping up to 8 MiB free per arena, and
/// serving blocks up to 32 MiB from the arenas (the analysis thread's copy of a body is then
/// reused, not mapped and faulted in for every payload), removes most of that. Peak memory is
/// unchanged: it is set by the bodies in flight and `queue_max_bytes`, not by trimming.
///
/// Not applied when the user tunes malloc (`MALLOC_TRIM_THRESHOLD_`, `MALLOC_MMAP_THRESHOLD_`,
/// `GLIBC_TUNABLES`): the environment wins.
public enum MallocTuning {
    public static let trimThreshold: Int32 = 8 * 1024 * 1024
    public static let mmapThreshold: Int32 = 32 * 1024 * 1024

    /// Applies the settings unless the environment sets malloc tunables; true when applied.
    @discardableResult
    public static func apply(environment: [String: String]) -> Bool {
        #if canImport(Glibc)
        let userTuned = ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"].contains { environment[$0] != nil }
        guard !userTuned else { return false }
        return mallopt(M_TRIM_THRESHOLD, trimThreshold) == 1 && mallopt(M_MMAP_THRESHOLD, mmapThreshold) == 1
        #else
        return false
        #endif
    }
}
