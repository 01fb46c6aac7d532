/// Why a msgpack document was rejected, and where.
///
/// Every error carries the byte offset (from the start of the buffer the reader was given) of the
/// value that could not be read, so that a report can say "truncated string at byte 2913" rather
/// than "bad payload".
public struct MessagePackError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The input ends inside a value: `needed` more bytes were expected.
        case truncated(needed: Int)
        /// 0xc1 is the one byte msgpack never uses.
        case invalidByte(UInt8)
        /// Containers nested deeper than `MessagePackLimits.maxDepth`.
        case depthLimitExceeded(limit: Int)
        /// A str/bin/ext/array/map declares more elements or bytes than the limits allow.
        case lengthLimitExceeded(declared: Int, limit: Int)
        /// A container declares more elements than the bytes left could possibly hold
        /// (each element needs at least one byte): rejected before anything is reserved.
        case lengthExceedsInput(declared: Int, available: Int)
        /// A value of another type stands where `expected` was required.
        case typeMismatch(expected: String, found: MessagePackType)
        /// An integer that does not fit the requested width.
        case integerOverflow
        /// Bytes left over after the one top-level value.
        case trailingBytes(count: Int)
        /// A format-level problem found by a decoder built on this reader (e.g. a bad string index).
        case invalidValue(String)
    }

    public var reason: Reason
    public var offset: Int

    @inlinable
    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        let what: String
        switch reason {
        case .truncated(let needed): what = "truncated input: \(needed) more byte(s) needed"
        case .invalidByte(let byte): what = "invalid type byte 0x\(String(byte, radix: 16))"
        case .depthLimitExceeded(let limit): what = "nesting deeper than \(limit)"
        case .lengthLimitExceeded(let declared, let limit): what = "declared length \(declared) over the limit \(limit)"
        case .lengthExceedsInput(let declared, let available):
            what = "declared length \(declared) exceeds the \(available) byte(s) left"
        case .typeMismatch(let expected, let found): what = "expected \(expected), found \(found)"
        case .integerOverflow: what = "integer out of range"
        case .trailingBytes(let count): what = "\(count) trailing byte(s) after the value"
        case .invalidValue(let message): what = message
        }
        return "\(what) at byte offset \(offset)"
    }
}
