/// The `Datadog-Meta-*` request headers rules read on a Python trace request (spec, "Request
/// headers": every trace request of dd-trace-py carries them). Empty when absent.
public struct MetaHeaders: Sendable, Hashable {
    /// `Datadog-Meta-Tracer-Version` (e.g. `3.19.9`).
    public var tracerVersion: String
    /// `Datadog-Meta-Lang-Version`, the Python version (e.g. `3.12.4`).
    public var langVersion: String
    public init(tracerVersion: String = "", langVersion: String = "") {
        self.tracerVersion = tracerVersion; self.langVersion = langVersion
    }
}
