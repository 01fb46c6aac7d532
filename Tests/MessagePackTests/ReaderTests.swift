import MessagePack
import Testing

/// Decodes `bytes` as one whole value.
func decode(_ bytes: [UInt8], limits: MessagePackLimits = .default) throws(MessagePackError) -> MessagePackValue {
    let result = bytes.withUnsafeBytes { p in
        Result { () throws(MessagePackError) in try MessagePackReader.decode(p, limits: limits) }
    }
    return try result.get()
}

/// The error decoding `bytes` throws (nil if it decodes).
func decodeError(_ bytes: [UInt8], limits: MessagePackLimits = .default) -> MessagePackError? {
    do { _ = try decode(bytes, limits: limits); return nil } catch { return error }
}

@Suite struct ReaderTests {
    @Test func readsMapWithNestedArray() throws {
        let bytes: [UInt8] = [0x81, 0xa1, 0x61, 0x93, 0x01, 0xd0, 0xff, 0xcb, 0x3f, 0xd0, 0, 0, 0, 0, 0, 0]
        #expect(try decode(bytes) == .map([(.string([0x61]), .array([.uint(1), .int(-1), .float64(0.25)]))]))
    }

    @Test func integersOfEveryWidth() throws {
        #expect(try decode([0x7f]) == .uint(127))
        #expect(try decode([0xe0]) == .int(-32))
        #expect(try decode([0xcc, 0xff]) == .uint(255))
        #expect(try decode([0xcd, 0x01, 0x00]) == .uint(256))
        #expect(try decode([0xce, 0xff, 0xff, 0xff, 0xff]) == .uint(UInt64(UInt32.max)))
        #expect(try decode([0xcf] + [UInt8](repeating: 0xff, count: 8)) == .uint(.max))
        #expect(try decode([0xd0, 0x80]) == .int(-128))
        #expect(try decode([0xd0, 0x05]) == .uint(5), "a non-negative int8 is a positive integer, as in msgpack-c")
        #expect(try decode([0xd1, 0x80, 0x00]) == .int(-32768))
        #expect(try decode([0xd2, 0x80, 0, 0, 0]) == .int(Int64(Int32.min)))
        #expect(try decode([0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]) == .int(.min))
    }

    @Test func integerAccessorsCheckRange() throws {
        let big: [UInt8] = [0xcf] + [UInt8](repeating: 0xff, count: 8)
        try big.withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(throws: MessagePackError(.integerOverflow, at: 0)) { try r.readInt64() }
            r.offset = 0
            #expect(try r.readUInt64() == .max)
        }
        try [UInt8]([0xff]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(throws: MessagePackError(.integerOverflow, at: 0)) { try r.readUInt64() }
            r.offset = 0
            #expect(try r.readInt64() == -1)
            r.offset = 0
            #expect(try r.readNumberAsDouble() == -1)
        }
    }

    @Test func floats() throws {
        #expect(try decode([0xca, 0x3e, 0x80, 0, 0]) == .float32(0.25))
        #expect(try decode([0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]) == .float64(3.141592653589793))
        try [UInt8]([0xca, 0x3e, 0x80, 0, 0]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(try r.readDouble() == 0.25)
        }
    }

    @Test func stringsInAllFourFormsAreViews() throws {
        for header: [UInt8] in [[0xa3], [0xd9, 3], [0xda, 0, 3], [0xdb, 0, 0, 0, 3]] {
            let bytes = header + Array("abc".utf8)
            try bytes.withUnsafeBytes { p throws in
                var r = MessagePackReader(bytes: p)
                let s = try r.readString()
                #expect(s.equals("abc") && s.string == "abc")
                #expect(s.base.baseAddress == p.baseAddress! + header.count, "not a view into the input")
                #expect(r.isAtEnd)
            }
        }
    }

    @Test func binaryAndStringLikeTolerance() throws {
        #expect(try decode([0xc4, 2, 1, 2]) == .binary([1, 2]))
        #expect(try decode([0xc5, 0, 1, 9]) == .binary([9]))
        #expect(try decode([0xc6, 0, 0, 0, 0]) == .binary([]))
        try [UInt8]([0xc4, 1, 0x41, 0xc0, 0x01]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(try r.readStringLike().string == "A")
            #expect(try r.readStringLike().isEmpty, "nil reads as an empty string")
            #expect(throws: MessagePackError(.typeMismatch(expected: "str", found: .uint), at: 4)) { try r.readStringLike() }
        }
    }

    @Test func extensionsAndTimestamps() throws {
        #expect(try decode([0xd4, 5, 0xaa]) == .extension(type: 5, data: [0xaa]))
        #expect(try decode([0xc7, 0, 0x80]) == .extension(type: -128, data: []))
        #expect(try decode([0xc8, 0, 2, 1, 7, 8]) == .extension(type: 1, data: [7, 8]))
        let cases: [(MessagePackTimestamp, [UInt8])] = [
            (MessagePackTimestamp(seconds: 1, nanoseconds: 0), [0xd6, 0xff, 0, 0, 0, 1]),
            (MessagePackTimestamp(seconds: 1, nanoseconds: 5), [0xd7, 0xff, 0, 0, 0, 0x14, 0, 0, 0, 1]),
            (MessagePackTimestamp(seconds: -1, nanoseconds: 7), [0xc7, 12, 0xff, 0, 0, 0, 7] + [UInt8](repeating: 0xff, count: 8)),
        ]
        for (ts, bytes) in cases {
            try bytes.withUnsafeBytes { p throws in
                var r = MessagePackReader(bytes: p)
                #expect(try r.readTimestamp() == ts)
            }
            #expect(try decode(bytes).timestamp == ts)
            var w = MessagePackWriter()
            w.writeTimestamp(ts)
            #expect(w.bytes == bytes, "writer picks the smallest timestamp form")
        }
        // 64-bit form with nanoseconds ≥ 1e9 is not a timestamp; the reader leaves the cursor.
        let bad: [UInt8] = [0xd7, 0xff, 0xff, 0xff, 0xff, 0xfc, 0, 0, 0, 0]
        try bad.withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(throws: MessagePackError(.typeMismatch(expected: "timestamp", found: .extension), at: 0)) { try r.readTimestamp() }
            #expect(r.offset == 0)
        }
        #expect(try decode(bad).timestamp == nil)
    }

    @Test func errorsCarryTheOffsetOfTheBadValue() {
        #expect(decodeError([0x92, 0x01, 0xc1]) == MessagePackError(.invalidByte(0xc1), at: 2))
        #expect(decodeError([0x92, 0x01, 0xcd, 0x01]) == MessagePackError(.truncated(needed: 1), at: 2))
        #expect(decodeError([0x91, 0xa5, 0x61]) == MessagePackError(.truncated(needed: 4), at: 1))
        #expect(decodeError([0x01, 0x02]) == MessagePackError(.trailingBytes(count: 1), at: 1))
        #expect(decodeError([]) == MessagePackError(.truncated(needed: 1), at: 0))
        #expect(decodeError([0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00])
            == MessagePackError(.lengthLimitExceeded(declared: 0xffff_ffff, limit: 1 << 24), at: 1))
        #expect(decodeError([0x91, 0xdc, 0x01, 0x00, 0x00]) == MessagePackError(.lengthExceedsInput(declared: 256, available: 1), at: 1))
        #expect(decodeError([0xdf, 0, 0, 0, 2, 1, 2, 3]) == MessagePackError(.lengthExceedsInput(declared: 2, available: 3), at: 0))
        #expect(decodeError([0xdb, 0xff, 0xff, 0xff, 0xff]) == MessagePackError(.lengthLimitExceeded(declared: 0xffff_ffff, limit: 1 << 28), at: 0))
        #expect(decodeError([0xc6, 0, 0, 1, 0, 1]) == MessagePackError(.truncated(needed: 255), at: 0))
        #expect("\(MessagePackError(.invalidByte(0xc1), at: 7))" == "invalid type byte 0xc1 at byte offset 7")
    }

    @Test func limitsAreConfigurable() {
        let tight = MessagePackLimits(maxDepth: 2, maxContainerCount: 3, maxByteLength: 4)
        #expect(decodeError([0x91, 0x91, 0x90], limits: tight) == MessagePackError(.depthLimitExceeded(limit: 2), at: 2))
        #expect(decodeError([0x91, 0x91, 0x01], limits: tight) == nil)
        #expect(decodeError([0x94, 1, 2, 3, 4], limits: tight) == MessagePackError(.lengthLimitExceeded(declared: 4, limit: 3), at: 0))
        #expect(decodeError([0xa5, 1, 2, 3, 4, 5], limits: tight) == MessagePackError(.lengthLimitExceeded(declared: 5, limit: 4), at: 0))
    }

    @Test func depthCountsEveryContainerUpToThirtyTwo() throws {
        let ok = [UInt8](repeating: 0x91, count: 31) + [0x90]
        let tooDeep = [UInt8](repeating: 0x91, count: 32) + [0x90]
        #expect(decodeError(ok) == nil)
        #expect(decodeError(tooDeep) == MessagePackError(.depthLimitExceeded(limit: 32), at: 32))
        let deepSkip = [UInt8](repeating: 0x91, count: 40) + [0x01]
        try deepSkip.withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(throws: MessagePackError(.depthLimitExceeded(limit: 32), at: 32)) { try r.skipValue() }
        }
    }

    @Test func skipAndRawValueCoverWholeValues() throws {
        // [ {"a": [1, "xy", bin(1)]}, ext, 2 ] followed by 3
        let value: [UInt8] = [0x93, 0x81, 0xa1, 0x61, 0x93, 0x01, 0xa2, 0x78, 0x79, 0xc4, 0x01, 0x00, 0xd4, 0x01, 0x02, 0x02]
        try (value + [0x03]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            let raw = try r.readRawValue()
            #expect(raw.bytes == value)
            #expect(try r.readUInt64() == 3)
            #expect(r.isAtEnd)
        }
        // Deeper than the 8 levels the skipper keeps inline.
        let deep = [UInt8](repeating: 0x92, count: 20) + [UInt8](repeating: 0x01, count: 21)
        try deep.withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            try r.skipValue()
            #expect(r.isAtEnd)
        }
    }

    @Test func typeMismatchNamesWhatWasFound() throws {
        try [UInt8]([0xa1, 0x61]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(throws: MessagePackError(.typeMismatch(expected: "array", found: .string), at: 0)) { try r.readArrayHeader() }
            #expect(throws: MessagePackError(.typeMismatch(expected: "map", found: .string), at: 0)) { try r.readMapHeader() }
            #expect(throws: MessagePackError(.typeMismatch(expected: "int", found: .string), at: 0)) { try r.readInt64() }
            #expect(throws: MessagePackError(.typeMismatch(expected: "bool", found: .string), at: 0)) { try r.readBool() }
            #expect(try r.peekType() == .string)
            #expect(try r.readNil() == false)
        }
    }

    @Test func byteViewComparesWithoutCopying() throws {
        try Array("service.name".utf8).withUnsafeBytes { p throws in
            let v = ByteView(p)
            #expect(v.equals("service.name"))
            #expect(!v.equals("service"))
            #expect(v.hasPrefix("service.") && v.hasSuffix(".name") && !v.hasSuffix("service"))
            #expect(v.equals(ByteView(p)))
            #expect(v[0] == UInt8(ascii: "s"))
        }
        #expect(ByteView.empty.equals("") && ByteView.empty.string == "")
    }

    @Test func fastPathsAgreeWithTheGeneralReads() throws {
        // readSmallUnsignedFast: fixint, uint8, uint16 anywhere, including the last bytes.
        let cases: [([UInt8], Int?)] = [
            ([0x05], 5), ([0x7f, 0, 0], 127), ([0xcc, 0xff], nil), ([0xcc, 0xff, 0], 255), ([0xcd, 1, 0], 256),
            ([0xce, 0, 0, 0, 1], nil), ([0xff, 0, 0], nil), ([0xa1, 0x61, 0], nil), ([], nil),
        ]
        for (bytes, want) in cases {
            bytes.withUnsafeBytes { p in
                var r = MessagePackReader(bytes: p)
                #expect(r.readSmallUnsignedFast() == want, "\(bytes)")
                #expect(r.offset == (want == nil ? 0 : (bytes[0] == 0xcc ? 2 : bytes[0] == 0xcd ? 3 : 1)), "\(bytes)")
            }
        }
        // A fixstr cut at the end of the input falls back to the general path and its error.
        try [UInt8]([0xa3, 0x61]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(throws: MessagePackError(.truncated(needed: 2), at: 0)) { try r.readStringLike() }
            #expect(throws: MessagePackError(.truncated(needed: 2), at: 0)) { try r.readString() }
        }
        // float64 at the very end, and one byte short.
        try [UInt8]([0x01, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(try r.readNumberAsDouble() == 1 && r.readNumberAsDouble() == 1.0 && r.isAtEnd)
        }
        try [UInt8]([0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0]).withUnsafeBytes { p throws in
            var r = MessagePackReader(bytes: p)
            #expect(throws: MessagePackError(.truncated(needed: 1), at: 0)) { try r.readNumberAsDouble() }
        }
    }

    @Test func writerChoosesSmallestEncodings() {
        var w = MessagePackWriter()
        w.write(Int64(-33)); w.write(UInt64(128)); w.write(Int64(65536)); w.writeStringHeader(32); w.writeArrayHeader(16); w.writeMapHeader(3)
        #expect(w.bytes == [0xd0, 0xdf, 0xcc, 0x80, 0xce, 0, 1, 0, 0, 0xd9, 32, 0xdc, 0, 16, 0x83])
    }
}
