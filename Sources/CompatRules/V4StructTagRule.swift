import MessagePack
import TracePayload

/// V4-STRUCT-TAG — struct tags.
///
/// Guide: "`Span.set_struct_tag` / `get_struct_tag` are removed (v3.19 warns; v4 raises
/// AttributeError). On the wire (v0.4 only, measured): the span map has `meta_struct` … Keys that
/// ddtrace itself writes (AppSec/IAST/exploit prevention, e.g. `appsec`, `iast`, `_dd.stack`) are
/// not user struct tags: report them apart as `internal`. v0.5 spans have no such field … so the
/// report must say, per service, whether struct tags could be seen at all (v0.4 traffic) and how to
/// check (`DD_TRACE_API_VERSION=v0.4` during the audit)."
public enum V4StructTagRule: CompatRule {
    public static let id: RuleID = "V4-STRUCT-TAG"
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "Span.set_struct_tag is used (removed in v4: AttributeError)"
    public static let fix = "Replace set_struct_tag/get_struct_tag: store the value with set_tag(key, json.dumps(value)) or split it into string tags and metrics."
    public static let evidence = "meta_struct key on a v0.4 span (v0.5 cannot carry struct tags)"
    public static let reads: Set<WireSource> = [.structTags]
    public static let summaryDetail = SummaryDetail.keys
    @inlinable public static var spanReads: SpanReads { [.metaStruct] }

    /// User keys are findings; ddtrace's own keys go to the report's internal list.
    @inlinable
    public static func judgeStructTag<S: FindingSink>(key: ByteView, encoded: ByteView, span: SpanFacts, into sink: inout S) {
        // The value's type names a sample only: built in the sample closure, which a repeated
        // finding with its samples taken never calls (a string built per struct tag was most of
        // this hook's code and time).
        if kind(ofKey: key) == .user {
            sink.record(id, kind: 0, operation: span.name, resource: span.resource, key: key,
                        texts: { _ in FindingTexts(kind: Kind.user.rawValue) },
                        sample: { SampleTexts(valueType: msgpackTypeName(encoded)) })
        } else {
            sink.recordInternal(id, kind: 1, operation: span.name, key: key,
                                texts: { _ in FindingTexts(kind: Kind.internal.rawValue, severity: .check, confidence: .high, fix: internalFix) },
                                sample: { SampleTexts(valueType: msgpackTypeName(encoded)) })
        }
    }

    /// The fix of an internal struct tag.
    public static let internalFix = "Nothing to do: ddtrace writes this struct tag itself (AppSec/IAST/exploit prevention)."

    /// "msgpack map", "msgpack str", … for a sample's value type.
    public static func msgpackTypeName(_ encoded: ByteView) -> String {
        guard encoded.count > 0, let t = MessagePackReader.type(of: encoded[0]) else { return "msgpack" }
        return "msgpack \(t)"
    }
    /// What the report says for services seen only over v0.5.
    public static let visibilityAdvice = "Struct tags cannot be seen on v0.5 (the tracer drops them there): run the app with DD_TRACE_API_VERSION=v0.4 while auditing to see them."

    public enum Kind: String, Sendable, Codable {
        /// Set by the application: breaks under v4.
        case user
        /// Written by ddtrace itself (AppSec, IAST, exploit prevention): nothing to do.
        case `internal`
    }

    @inlinable
    public static func kind(ofKey key: ByteView) -> Kind {
        if key.equals("appsec") || key.equals("iast") || key.hasPrefix("_dd.") || key.hasPrefix("appsec.")
            || key.hasPrefix("iast.") || key.hasPrefix("_iast") || key.equals("exploit_prevention") {
            return .internal
        }
        return .user
    }
}

extension RuleID {
    /// V4-STRUCT-TAG (`V4StructTagRule`).
    public static var structTag: RuleID { V4StructTagRule.id }
}
