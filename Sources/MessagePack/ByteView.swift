/// A view of bytes inside the buffer being decoded: a str or bin payload, never a copy.
///
/// It borrows: it is valid only while the buffer handed to the reader is alive (for a trace payload,
/// during the visit). Call `string` or `bytes` to keep a copy beyond that.
@frozen
public struct ByteView: @unchecked Sendable {
    public let base: UnsafeRawBufferPointer

    @inlinable
    public init(_ base: UnsafeRawBufferPointer) { self.base = base }

    public static var empty: ByteView { ByteView(UnsafeRawBufferPointer(start: nil, count: 0)) }

    @inlinable public var count: Int { base.count }
    @inlinable public var isEmpty: Bool { base.isEmpty }

    /// A copy as a Swift string (invalid UTF-8 is repaired with U+FFFD, as Python's `errors='replace'`).
    public var string: String { String(decoding: base, as: UTF8.self) }

    /// A copy of the bytes.
    public var bytes: [UInt8] { Array(base) }

    /// Compares with a literal without materialising anything.
    @inlinable
    public func equals(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard n == base.count else { return false }
        if n == 0 { return true }
        return memcmp(base.baseAddress!, literal.utf8Start, n) == 0
    }

    @inlinable
    public func hasPrefix(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard n <= base.count else { return false }
        if n == 0 { return true }
        return memcmp(base.baseAddress!, literal.utf8Start, n) == 0
    }

    @inlinable
    public func hasSuffix(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard n <= base.count else { return false }
        if n == 0 { return true }
        return memcmp(base.baseAddress! + (base.count - n), literal.utf8Start, n) == 0
    }

    @inlinable
    public func equals(_ other: ByteView) -> Bool {
        guard other.count == count else { return false }
        if count == 0 { return true }
        return memcmp(base.baseAddress!, other.base.baseAddress!, count) == 0
    }

    @inlinable
    public subscript(i: Int) -> UInt8 { base[i] }
}

extension ByteView: CustomStringConvertible {
    public var description: String { string }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
