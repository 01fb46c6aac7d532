import Testing

/// The suites whose assertions depend on timing on real sockets (timeouts of a second or less,
/// pooled connections kept 4 s, p99 comparisons, a process at its fd limit) run one test at a
/// time, beside the other suites: on the shared 2-core machine, running them all at once starved
/// each other's event loops for seconds and made the timing assertions fail for load alone.
@Suite(.serialized) struct SocketSuites {}
