/// ASCII case-insensitive equality with a literal given in lowercase: the one compare for HTTP
/// field names and tokens (RFC 9110 §5.1: case-insensitive ASCII), for the proxy's framing and
/// hop-by-hop handling (`HTTPHeadSyntax`) and for the analysis's tracer headers
/// (`CapturedRequest`).
///
/// Its own target, with no dependency, so that both use it without the proxy reaching into the
/// analysis for HTTP syntax or the analysis into the proxy.
public enum ASCIICase {
    /// True when `x` equals `target` ignoring ASCII case: a byte of `x` under a letter of
    /// `target` is compared with bit 0x20 set (`A`…`Z` become `a`…`z`; no other byte does, since
    /// the target's byte is a lowercase letter), any other byte exactly. `target` must be lowercase
    /// ASCII. Branch-free over the bytes: callers compare lengths first (a switch on the length
    /// of a field name), so a match runs the whole length anyway.
    @inlinable @inline(__always)
    public static func equals(_ x: UnsafeRawBufferPointer, lowercased target: StaticString) -> Bool {
        guard x.count == target.utf8CodeUnitCount else { return false }
        let t = target.utf8Start
        var differ: UInt8 = 0
        for i in 0..<x.count {
            let q = t[i]
            differ |= (x[i] | (q &- 0x61 < 26 ? 0x20 : 0)) ^ q
        }
        return differ == 0
    }
}
