/// V4-PLATFORM — 32-bit Linux.
///
/// Guide: "Telemetry `app-started` configuration carries `python_soabi` (e.g.
/// `cpython-311-x86_64-linux-gnu`) and `python_host_gnu_type` (measured); an `i686`/`i386`/`arm`-32
/// value means a 32-bit build, which v4 no longer supports."
public enum V4PlatformRule: CompatRule {
    public static let id: RuleID = "V4-PLATFORM"
    public static let severity = Severity.breaks
    public static let confidence = Confidence.high
    public static let title = "32-bit Linux build of Python (v4 ships no 32-bit Linux wheels)"
    public static let fix = "Move the service to a 64-bit (x86_64 or aarch64) Python build before upgrading to v4."
    public static let evidence = "telemetry app-started configuration python_soabi / python_host_gnu_type"
    public static let reads: Set<WireSource> = [.telemetry]
    public static let summaryDetail = SummaryDetail.names

    /// A 32-bit Linux build named by the message's configuration (`key` = the setting, `kind` =
    /// its value), in the order of the setting names.
    public static func judgeTelemetry<S: MessageSink>(_ message: TelemetryMessage, into sink: inout S) {
        let config = message.effectiveConfiguration
        for name in settingNames.sorted() {
            guard let e = config[name], is32BitLinux(e.value) else { continue }
            sink.recordMessage(id, FindingTexts(key: name, kind: e.value, evidence: "telemetry \(name)=\(e.value)"))
        }
    }

    /// The configuration names that carry the build's architecture.
    public static let settingNames: Set<String> = ["python_soabi", "python_host_gnu_type", "python_build_gnu_type"]

    /// True when a soabi or GNU type names a 32-bit Linux architecture
    /// (`i386`…`i686`, 32-bit ARM `arm…`/`armv7l`, but not `aarch64`/`arm64`).
    public static func is32BitLinux(_ value: String) -> Bool {
        let v = value.lowercased()
        guard v.contains("linux") else { return false }
        for arch in ["i386", "i486", "i586", "i686", "x86-linux", "armv6", "armv7", "armhf", "arm-linux", "armel", "mips-", "mipsel-", "powerpc-", "s390-"] where v.contains(arch) {
            return true
        }
        return false
    }
}

extension RuleID {
    /// V4-PLATFORM (`V4PlatformRule`).
    public static var platform: RuleID { V4PlatformRule.id }
}
