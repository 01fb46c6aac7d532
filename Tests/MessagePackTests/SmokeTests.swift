import Testing
@testable import MessagePack

@Test func readsFixmapWithStringViews() throws {
    let bytes: [UInt8] = [0x81, 0xa1, 0x61, 0x93, 0x01, 0xd0, 0xff, 0xcb, 0x3f, 0xd0, 0, 0, 0, 0, 0, 0]
    let value = try bytes.withUnsafeBytes { try MessagePackReader.decode($0) }
    #expect(value == .map([(.string([0x61]), .array([.uint(1), .int(-1), .float64(0.25)]))]))
}
