import NIOCore

/// Every bound and default of the proxy in one place, each with the reason for its value.
/// (Configurable ones are `ProxyConfiguration`'s defaults; the others are fixed here.)
public enum ProxyLimits {
    // MARK: request and answer

    /// The Datadog Agent's own request limit, the default `max_body_bytes`:
    /// `apm_config.max_payload_size` (env `DD_APM_MAX_PAYLOAD_SIZE`) defaults to
    /// `MaxRequestBytes: 25 * 1024 * 1024, // 25MB` in DataDog/datadog-agent
    /// `pkg/trace/config/config.go` (`New()`).
    public static let agentMaxPayloadSize = 25 * 1024 * 1024
    /// Default `upstream_timeout` (seconds): connecting to the agent, and its silence once the
    /// request is sent. The agent's receiver itself times out reads after 5 s.
    public static let upstreamTimeout: Double = 10

    // MARK: heads and chunked bodies (RequestHeadScanner, ResponseHeadScanner, ChunkedBodyScanner)

    /// Bytes of one head (request or answer line, fields, empty line) the scanners read before
    /// refusing it with 400: NIO's `HTTPDecoder` refused header sections above 80 KiB
    /// (`maxHeaderListSize`), which the byte relay keeps; nginx's own bound is 4 × 8 KiB
    /// (`large_client_header_buffers`), a tracer sends under 1 KiB.
    public static let maxHeadBytes = 80 * 1024
    /// Header fields of one head. NIO allowed 65,534; a tracer sends about a dozen. The bound
    /// only caps work per head (the byte bound above already caps memory).
    public static let maxHeaderFields = 1024
    /// Bytes of one chunk-size line (size, extensions and CR): llhttp has no bound on extensions
    /// (its callbacks see them in pieces); the relay never keeps them, so this only caps a
    /// trickled line's work. No tracer sends an extension.
    public static let maxChunkLineBytes = 4 * 1024
    /// Bytes of a chunked body's trailer section (RFC 9112 §7.1.2). NIO counted trailers into its
    /// 80 KiB header bound; no tracer sends trailers.
    public static let maxTrailerBytes = 16 * 1024

    // MARK: client timeouts (nginx's defaults)

    /// Default `header_timeout` (seconds) from the first byte of a request (or from accept) to
    /// the end of its head: nginx's `client_header_timeout 60s`. Then 408 and close.
    public static let headerTimeout: Double = 60
    /// Default `body_timeout` (seconds) of silence while a request body is received: nginx's
    /// `client_body_timeout 60s`. Then the connection closes (counted `body_timeout`).
    public static let bodyTimeout: Double = 60
    /// Default `idle_timeout` (seconds) between requests on a keep-alive connection: nginx's
    /// `keepalive_timeout 75s`. Then the connection closes silently.
    public static let idleTimeout: Double = 75

    // MARK: pipelining (ProxyServerHandler)

    /// Reading from a client stops while this many bytes of pipelined requests (heads and
    /// bodies, held as the bytes read) wait behind an unanswered one: a tracer never pipelines,
    /// so this only bounds a hostile client.
    public static let heldPipelinedBytes = 1 << 20
    /// The same for the number of held reads (many tiny ones).
    public static let heldPipelinedParts = 4096

    // MARK: analysis tap

    /// Default `queue_max_bytes`: 16 MiB (with it, the proxy peaked under 100 MB RSS on 5 MB
    /// payloads at full load; see Benchmarks/RESULTS.md).
    public static let analysisQueueMaxBytes = 16 * 1024 * 1024
    /// Default `queue_capacity`: payloads waiting for analysis.
    public static let analysisQueueCapacity = 1024
    /// Body parts at least this large are kept for analysis as NIO read them (no copy); smaller
    /// ones are gathered into one buffer (`TeeBody`), so a trickled body pins no read buffers.
    public static let teeKeepAsIsFrom = 16 * 1024

    // MARK: listeners

    /// `listen(2)` backlog of each listener.
    public static let listenBacklog: Int32 = 1024
    /// How long accepting pauses after `accept(2)` failed with EMFILE/ENFILE/ENOBUFS/ENOMEM
    /// (`AcceptBackoff`): without a pause the listener is readable again at once and the event
    /// loop spins on failing accepts (a whole core at the fd limit).
    public static let acceptBackoff = TimeAmount.seconds(1)
    /// Default `socket_mode` of a unix listening socket: 0722 like the agent's apm socket
    /// (`apm_config.receiver_socket`), so applications running as other users can connect.
    public static let socketMode: Int = 0o722

    // MARK: shutdown

    /// `ProxyServer.shutdown`'s default grace for exchanges in flight before what is left is
    /// closed (callers outside `ProxyService`: tests, embedders).
    public static let shutdownGrace = TimeAmount.seconds(10)
    /// `ProxyService` waits `upstream_timeout` plus this for exchanges in flight at SIGTERM: an
    /// exchange that started just before it may take a whole `upstream_timeout` to be answered
    /// (or 502'd), and its answer then needs a moment to be written to the client.
    public static let shutdownGraceBeyondUpstreamTimeout: Double = 2

    // MARK: upstream pool

    /// Idle agent connections are kept at most this long: the agent's Go receiver closes idle
    /// connections after its 5 s `receiver_timeout`.
    public static let upstreamIdle = TimeAmount.seconds(4)
    /// Idle agent connections kept per event loop.
    public static let upstreamIdlePerLoop = 256

    // MARK: admin and report

    /// Admin answers (`/compat/report*`, `/metrics`) are rendered off the event loops from a
    /// snapshot at most this old: rendering a report of thousands of finding groups takes most
    /// of a second, so it happens at most once per this interval however many fetches come.
    public static let adminSnapshotMaxAge = TimeAmount.seconds(1)
    /// Default `flush_interval` (seconds) between report writes; a failed write (EMFILE, full
    /// disk) is retried at the next one.
    public static let flushInterval: Double = 10
    /// Default `sample_limit`: samples kept per finding group.
    public static let sampleLimit = 5

    // MARK: analysis threads (issue 15)

    /// The nice value of analysis (and the admin render thread) with `analysis_priority: low`:
    /// 10, the usual "background" nice (nice(1)'s default increment), still getting a share of a
    /// busy CPU, unlike `SCHED_IDLE`.
    public static let analysisLowNiceness: Int32 = 10
    /// Kernel name prefix of the analysis threads (`tc-analysis-0`, `-1`…), set with
    /// `pthread_setname_np(3)`: Linux keeps 15 bytes of a thread name, so the prefix is short
    /// enough for any index below 10,000. The benchmark harness reads their CPU by this name.
    public static let analysisThreadNamePrefix = "tc-analysis-"
    /// Kernel name of the admin render thread (`AdminRenderer`).
    public static let adminRenderThreadName = "tc-admin-render"
}
