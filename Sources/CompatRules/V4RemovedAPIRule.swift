import MessagePack
import TracePayload

/// V4-REMOVED-API — already upgraded and failing.
///
/// Guide: "After a (canary) upgrade, spans whose `error.type` is `builtins.AttributeError` /
/// `ImportError` and whose `error.message` names a removed API (`set_tag_str`,
/// `finish_with_ancestors`, `set_struct_tag`, `get_struct_tag`, `_pprint`, `on_start_span`,
/// `deregister_on_start_span`, `Pin`, `ddtrace.settings`, `submit_evaluation_for`) — measured: 4.16
/// reports `'Span' object has no attribute 'set_tag_str'`."
public enum V4RemovedAPIRule: CompatRule {
    public static let id: RuleID = "V4-REMOVED-API"
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "A span failed on an API that v4 removed"
    public static let fix = "Replace the removed API named in the error (see the v4 migration guide), e.g. set_tag_str → set_tag, Pin → the integration's config, ddtrace.settings → ddtrace.config."
    public static let evidence = "span error.type AttributeError/ImportError with error.message naming a removed API"
    public static let reads: Set<WireSource> = [.spans]
    public static let summaryDetail = SummaryDetail.names
    @inlinable public static var spanReads: SpanReads { [.errorType, .errorMessage] }

    /// Failed spans whose error names a removed API, per (service, operation, resource, error
    /// type). The test for an error with a message inlined, the rest out of line (asked on every
    /// span, few have an error).
    @inlinable @inline(__always)
    public static func judge<S: FindingSink>(_ facts: SpanFacts, into sink: inout S) {
        if (facts.error != 0 || !facts.errorType.isEmpty) && !facts.errorMessage.isEmpty { judgeFailed(facts, into: &sink) }
    }

    /// `judge` of a span with an error and an error message (out of line).
    @inlinable @inline(never)
    static func judgeFailed<S: FindingSink>(_ facts: SpanFacts, into sink: inout S) {
        let errorType = facts.errorType, message = facts.errorMessage
        guard isCandidateErrorType(errorType),
              let api = removedAPI(inMessage: message.string) else { return }
        sink.record(id, kind: 0, operation: facts.name, resource: facts.resource, key: errorType,
                    texts: { _ in FindingTexts(key: api, kind: errorType.string, evidence: "error.message: " + ValueExcerpt.of(message.string)) },
                    sample: { SampleTexts(valueType: errorType.string, excerpt: message.string) })
    }

    public static let removedNames: [String] = [
        "set_tag_str", "finish_with_ancestors", "set_struct_tag", "get_struct_tag", "_pprint",
        "deregister_on_start_span", "on_start_span", "Pin", "ddtrace.settings", "submit_evaluation_for",
    ]

    /// True when `error.type` is one under which a removed API shows.
    @inlinable
    public static func isCandidateErrorType(_ type: ByteView) -> Bool {
        type.hasSuffix("AttributeError") || type.hasSuffix("ImportError") || type.hasSuffix("ModuleNotFoundError")
    }

    /// The removed API named in `message`, as a whole word, or nil.
    public static func removedAPI(inMessage message: String) -> String? {
        let bytes = Array(message.utf8)
        for name in removedNames {
            let n = Array(name.utf8)
            guard n.count <= bytes.count else { continue }
            var i = 0
            while i + n.count <= bytes.count {
                if bytes[i] == n[0] && Array(bytes[i..<(i + n.count)]) == n {
                    let before = i == 0 ? UInt8(ascii: " ") : bytes[i - 1]
                    let after = i + n.count == bytes.count ? UInt8(ascii: " ") : bytes[i + n.count]
                    if !isWordByte(before) && !isWordByte(after) { return name }
                }
                i += 1
            }
        }
        return nil
    }

    static func isWordByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
    }
}

extension RuleID {
    /// V4-REMOVED-API (`V4RemovedAPIRule`).
    public static var removedAPI: RuleID { V4RemovedAPIRule.id }
}
