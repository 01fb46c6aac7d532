import CMsgpack
import MessagePack

/// msgpack-c (`msgpack_unpack_next`), the reference decoder the reader is checked against.
enum MsgpackC {
    /// msgpack-c's verdict on a buffer: the value if the buffer holds exactly one complete value
    /// (`MSGPACK_UNPACK_SUCCESS` with the offset at the end), nil if it rejects it (parse error,
    /// out of memory, incomplete, or bytes left over).
    static func decode(_ bytes: [UInt8]) -> MessagePackValue? {
        var result = msgpack_unpacked()
        msgpack_unpacked_init(&result)
        defer { msgpack_unpacked_destroy(&result) }
        var offset = 0
        // A non-null pointer even for an empty buffer: msgpack-c then reports "continue".
        let padded = bytes + [0]
        let ret = padded.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { msgpack_unpack_next(&result, $0.baseAddress, bytes.count, &offset) }
        }
        guard ret == MSGPACK_UNPACK_SUCCESS, offset == bytes.count else { return nil }
        return convert(result.data)
    }

    /// msgpack-c's object tree as a `MessagePackValue`: POSITIVE_INTEGER is `.uint`,
    /// NEGATIVE_INTEGER `.int`, as the reader normalises them.
    static func convert(_ o: msgpack_object) -> MessagePackValue {
        switch o.type {
        case MSGPACK_OBJECT_NIL: return .nil
        case MSGPACK_OBJECT_BOOLEAN: return .bool(o.via.boolean)
        case MSGPACK_OBJECT_POSITIVE_INTEGER: return .uint(o.via.u64)
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return .int(o.via.i64)
        case MSGPACK_OBJECT_FLOAT32: return .float32(Float(o.via.f64))
        case MSGPACK_OBJECT_FLOAT64: return .float64(o.via.f64)
        case MSGPACK_OBJECT_STR: return .string(copy(o.via.str.ptr, Int(o.via.str.size)))
        case MSGPACK_OBJECT_BIN: return .binary(copy(o.via.bin.ptr, Int(o.via.bin.size)))
        case MSGPACK_OBJECT_EXT: return .extension(type: o.via.ext.type, data: copy(o.via.ext.ptr, Int(o.via.ext.size)))
        case MSGPACK_OBJECT_ARRAY:
            let a = o.via.array
            return .array((0..<Int(a.size)).map { convert(a.ptr[$0]) })
        case MSGPACK_OBJECT_MAP:
            let m = o.via.map
            return .map((0..<Int(m.size)).map { (convert(m.ptr[$0].key), convert(m.ptr[$0].val)) })
        default:
            fatalError("msgpack-c object type \(o.type) unknown to the oracle")
        }
    }

    private static func copy(_ p: UnsafePointer<CChar>?, _ n: Int) -> [UInt8] {
        guard let p, n > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}

extension MessagePackValue {
    /// The value with every float32 passed through Double and back, as msgpack-c stores float32
    /// (a signalling NaN comes back quiet there); everything else unchanged.
    var floatNormalised: MessagePackValue {
        switch self {
        case .float32(let f): return .float32(Float(Double(f)))
        case .array(let items): return .array(items.map(\.floatNormalised))
        case .map(let entries): return .map(entries.map { ($0.floatNormalised, $1.floatNormalised) })
        default: return self
        }
    }
}
