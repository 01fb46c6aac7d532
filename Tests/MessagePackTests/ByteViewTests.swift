import Testing
import MessagePack

/// `ByteView.equals(_:)` (inline loads up to 16 bytes, `memcmp` beyond; it decides, among
/// others, whether a span's app is the previous span's): exact at every length, whichever byte
/// differs.
@Suite struct ByteViewEqualsTests {
    @Test(arguments: 0...24)
    func everyByteCounts(length: Int) {
        let a = (0..<length).map { UInt8(truncatingIfNeeded: 97 + $0 * 7) }
        a.withUnsafeBytes { pa in
            var b = a
            b.withUnsafeMutableBytes { pb in
                #expect(ByteView(pa).equals(ByteView(UnsafeRawBufferPointer(pb))))
                for i in 0..<length {
                    pb[i] ^= 0x20
                    #expect(!ByteView(pa).equals(ByteView(UnsafeRawBufferPointer(pb))), "byte \(i) of \(length)")
                    pb[i] ^= 0x20
                }
                if length > 0 {
                    #expect(!ByteView(pa).equals(ByteView(UnsafeRawBufferPointer(rebasing: pb[1...]))))
                }
            }
        }
    }
}
