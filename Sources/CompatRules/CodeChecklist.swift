/// The checklist of the migration guide: every rule that the wire shows, and the changes it cannot
/// show, which the report lists as "check in code".
///
/// Guide, "Not visible on the wire": "`Span.finished` setter, `record_exception(timestamp, escaped)`,
/// `Tracer.on_start_span`, `HttpPropagator.inject(non_active_span)`, LLMObs methods that now raise,
/// pytest plugin entry points, 32-bit Linux. The report lists them as "check in code" with the
/// guide's `git grep` and `pytest -W error::ddtrace.DDTraceDeprecationWarning` advice, so the report
/// is a complete checklist."
public enum CodeChecklist {
    /// One item of the checklist that only the code (or the build) can answer.
    public struct Item: Sendable, Equatable {
        public var id: String
        public var title: String
        public var advice: String
    }

    public static let warningsAdvice = "Run the test suite on ddtrace 3.19 with `pytest -W error::ddtrace.DDTraceDeprecationWarning`: every use of an API that v4 removes fails there."

    public static let items: [Item] = [
        Item(id: "CODE-SPAN-FINISHED", title: "Span.finished setter removed",
             advice: "`git grep -n '\\.finished *='` and use span.finish() instead."),
        Item(id: "CODE-RECORD-EXCEPTION", title: "Span.record_exception(timestamp=, escaped=) arguments removed",
             advice: "`git grep -nE 'record_exception\\(.*(timestamp|escaped)'` and drop those arguments."),
        Item(id: "CODE-ON-START-SPAN", title: "Tracer.on_start_span / deregister_on_start_span removed",
             advice: "`git grep -n on_start_span` and move the hook to a span processor."),
        Item(id: "CODE-PROPAGATOR-INJECT", title: "HttpPropagator.inject(non_active_span) argument removed",
             advice: "`git grep -n 'HTTPPropagator.inject\\|HttpPropagator.inject'` and pass the span context explicitly."),
        Item(id: "CODE-LLMOBS-RAISE", title: "LLMObs methods that now raise instead of logging",
             advice: "`git grep -n 'LLMObs\\.'` and handle the exceptions of annotate/export_span/submit_evaluation*."),
        Item(id: "CODE-PYTEST-PLUGIN", title: "pytest plugin entry points changed",
             advice: "`git grep -n 'ddtrace.contrib.pytest\\|-p ddtrace'` in pytest.ini/pyproject.toml/conftest.py and follow the v4 plugin names."),
        Item(id: "CODE-32BIT", title: "32-bit Linux builds (only visible when telemetry is on)",
             advice: "Check the build targets of every image: `python -c 'import struct; print(struct.calcsize(\"P\")*8)'` must print 64."),
        Item(id: "CODE-DEPRECATIONS", title: "Every other API deprecated in 3.x",
             advice: warningsAdvice),
    ]
}
