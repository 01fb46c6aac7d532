/// V4-CONFIG — removed settings in use.
///
/// Guide: "From the `app-started` telemetry event's `configuration[]` (measured with 3.19.9):
/// `DD_PROFILING_STACK_V2_ENABLED` … `origin: env_var` with value `false` means the V1 stack
/// profiler was chosen, which v4 removes (high). With `origin: default` it is fine.
/// `DD_EXCEPTION_DEBUGGING_ENABLED` does not appear under its own name: 3.19.9 maps it onto
/// `DD_EXCEPTION_REPLAY_ENABLED`, whose `origin` then reads `unknown` instead of `default`/`env_var`
/// (medium: the old name was used). Expect the same for
/// `DD_DYNAMIC_INSTRUMENTATION_UPLOAD_FLUSH_INTERVAL` → `DD_DYNAMIC_INSTRUMENTATION_UPLOAD_INTERVAL_SECONDS`.
/// `DEFAULT_RUNTIME_METRICS_INTERVAL`: report it if it appears with a non-default origin."
public enum V4ConfigRule: CompatRule {
    public static let id: RuleID = "V4-CONFIG"
    public static let severity = Severity.changes
    public static let confidence = Confidence.high
    public static let title = "A setting that v4 removed or renamed is in use"
    public static let fix = "Remove or rename the setting as the finding says before moving to v4."
    public static let evidence = "telemetry app-started configuration[] name, value and origin"
    public static let reads: Set<WireSource> = [.telemetry]
    public static let summaryDetail = SummaryDetail.names

    /// One removed setting in use.
    public struct Finding: Equatable, Sendable {
        /// The setting the user set (the old name when it was mapped onto a new one).
        public var setting: String
        /// What telemetry showed: `NAME=value (origin)`.
        public var observed: String
        public var confidence: Confidence
        public var fix: String
    }

    /// The removed settings in the message's effective configuration (`key` = the setting).
    public static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S) {
        for f in judge(message.effectiveConfiguration) {
            sink.recordMessage(id, FindingTexts(key: f.setting, confidence: f.confidence, fix: f.fix, evidence: f.observed))
        }
    }

    /// Judges the effective configuration of one `app-started` (or configuration change) event.
    public static func judge(_ entries: [String: TelemetryMessage.ConfigEntry]) -> [Finding] {
        var out: [Finding] = []
        func observed(_ e: TelemetryMessage.ConfigEntry) -> String { "\(e.name)=\(e.value) (origin \(e.origin.isEmpty ? "?" : e.origin))" }
        let notDefault: (TelemetryMessage.ConfigEntry) -> Bool = { !$0.origin.isEmpty && $0.origin != "default" }

        if let e = entries["DD_PROFILING_STACK_V2_ENABLED"], notDefault(e), ["false", "0", "no", "off"].contains(e.value.lowercased()) {
            out.append(Finding(setting: e.name, observed: observed(e), confidence: .high,
                               fix: "Remove DD_PROFILING_STACK_V2_ENABLED=false: v4 removes the V1 stack profiler and always uses stack v2."))
        }
        for (old, new) in [("DD_EXCEPTION_DEBUGGING_ENABLED", "DD_EXCEPTION_REPLAY_ENABLED"),
                           ("DD_DYNAMIC_INSTRUMENTATION_UPLOAD_FLUSH_INTERVAL", "DD_DYNAMIC_INSTRUMENTATION_UPLOAD_INTERVAL_SECONDS")] {
            if let e = entries[old], notDefault(e) {
                out.append(Finding(setting: old, observed: observed(e), confidence: .high, fix: "Rename \(old) to \(new): v4 no longer reads the old name."))
            } else if let e = entries[new], e.origin == "unknown" {
                out.append(Finding(setting: old, observed: observed(e), confidence: .medium,
                                   fix: "\(new) was set through its old name \(old) (telemetry origin 'unknown'): rename it to \(new), v4 no longer reads the old name."))
            }
        }
        if let e = entries["DEFAULT_RUNTIME_METRICS_INTERVAL"], notDefault(e) {
            out.append(Finding(setting: e.name, observed: observed(e), confidence: .high,
                               fix: "Remove DEFAULT_RUNTIME_METRICS_INTERVAL: v4 removes it; use DD_RUNTIME_METRICS_INTERVAL."))
        }
        return out
    }
}

extension RuleID {
    /// V4-CONFIG (`V4ConfigRule`).
    public static var config: RuleID { V4ConfigRule.id }
}
