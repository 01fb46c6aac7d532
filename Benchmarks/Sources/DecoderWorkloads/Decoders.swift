import MessagePack
import MsgpackCBaseline
import TracePayload

/// Our side of the comparison: every span, every field, every `meta`, `metrics` and
/// `meta_struct` entry, folded into a checksum so that nothing can be optimised away.
@inline(never)
public func decodeOurs(_ decoder: inout TracePayloadDecoder, _ bytes: UnsafeRawBufferPointer, _ format: TraceFormat) -> UInt64 {
    var sum: UInt64 = 0
    do {
        let summary = try decoder.visit(bytes, format: format) { span in
            sum &+= UInt64(span.service.count &+ span.name.count &+ span.resource.count &+ span.type.count)
            sum &+= span.traceID ^ span.spanID ^ span.parentID
            sum &+= UInt64(bitPattern: span.start &+ span.duration) &+ UInt64(UInt32(bitPattern: span.error))
            sum &+= UInt64(span.fields.rawValue)
            span.meta.forEach { key, value in sum &+= UInt64(key.count &+ value.count) }
            span.metrics.forEach { key, number in sum &+= UInt64(key.count) &+ number.value.bitPattern }
            span.metaStruct.forEach { key, value in sum &+= UInt64(key.count &+ value.count) }
            sum &+= UInt64(span.spanLinks.count &+ span.spanEvents.count)
        }
        sum &+= UInt64(summary.spans)
    } catch {
        fatalError("TracePayloadDecoder rejected a benchmark payload: \(error)")
    }
    return sum
}

/// msgpack-c's side: `msgpack_unpack_next` into a fresh zone, then a C walk over every object.
@inline(never)
public func decodeMsgpackC(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
    var sum: UInt64 = 0
    var objects: UInt64 = 0
    let rc = msgpack_baseline_decode(bytes.baseAddress!.assumingMemoryBound(to: CChar.self), bytes.count, &sum, &objects)
    precondition(rc == 0, "msgpack-c rejected a benchmark payload")
    return sum &+ objects
}
