/// Every bound of the canary profiles (V4-CANARY-DIFF), in one place, each with the reason for its
/// value. What goes beyond a bound is counted in an "other" operation or key, so counts stay exact
/// and the profile stays small whatever the traffic (applications are bounded by `ReportLimits.apps`).
public enum CanaryLimits {
    /// Tracer major versions kept per application. 4: the fleet's, the canary's, and room for a
    /// stray third; more are counted under version "other".
    public static let versions = 4
    /// Operations, (service, name, type, component), per application and version. 200: a Django
    /// app has a few dozen (one per integration, cache backend, database alias); names come from
    /// code, not from requests, so more means something generates them.
    public static let operations = 200
    /// Meta keys and metrics keys counted per operation, each. 128: ddtrace's integrations set 10
    /// to 40 keys per span; user tags add a few; keys made from request data go to "other".
    public static let keys = 128
    /// Key sets remembered per operation, for meta and for metrics, by the analyzer that counts
    /// keys per set (`CanaryAccumulator`). 16: an integration's spans carry one to a few sets
    /// (with or without an error, a route, a peer); beyond, keys are counted one by one (exact,
    /// slower).
    public static let keySets = 16
    /// Rows of the comparison per application. 200: beyond it the report says how many more.
    public static let diffRows = 200
}
