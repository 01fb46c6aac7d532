/// A view of bytes inside the buffer being decoded: a str or bin payload, never a copy.
///
/// It borrows: it is valid only while the buffer handed to the reader is alive (for a trace payload,
/// during the visit). Call `string` or `bytes` to keep a copy beyond that.
@frozen
public struct ByteView: @unchecked Sendable {
    public let base: UnsafeRawBufferPointer

    @inlinable
    public init(_ base: UnsafeRawBufferPointer) { self.base = base }

    @inlinable public static var empty: ByteView { ByteView(UnsafeRawBufferPointer(start: nil, count: 0)) }

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

    /// Whether both views hold the same bytes. Up to 16 bytes (keys and names, the hot path's
    /// compares) in two overlapping loads each, inline; longer ones through `memcmp`.
    @inlinable @inline(__always)
    public func equals(_ other: ByteView) -> Bool {
        let n = count
        guard n == other.count else { return false }
        let p = base, q = other.base
        if n >= 8 {
            if n > 16 { return memcmp(p.baseAddress!, q.baseAddress!, n) == 0 }
            return p.loadUnaligned(fromByteOffset: 0, as: UInt64.self) == q.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
                && p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == q.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return p.loadUnaligned(fromByteOffset: 0, as: UInt32.self) == q.loadUnaligned(fromByteOffset: 0, as: UInt32.self)
                && p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == q.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        // 0 to 3 bytes: the first, middle and last are all of them.
        return n == 0 || (p[0] == q[0] && p[n / 2] == q[n / 2] && p[n - 1] == q[n - 1])
    }

    @inlinable
    public subscript(i: Int) -> UInt8 { base[i] }

    /// The length and the first and last eight bytes (fewer below eight), folded in two
    /// multiplies: every byte of a view up to 16 bytes (the overlap told apart by the length),
    /// and the ends of longer ones. The cheap part of the hashes on the analysis's hot path
    /// (tag keys, names), which finish it with a mix of their own.
    @inlinable @inline(__always)
    public var edgeWords: UInt64 {
        let p = base
        let n = p.count
        var lo: UInt64 = 0, hi: UInt64 = 0
        if n >= 8 {
            lo = p.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            hi = p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            lo = UInt64(p.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            hi = UInt64(p.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
        } else if n > 0 {
            lo = UInt64(p[0]) | UInt64(p[n / 2]) << 8 | UInt64(p[n - 1]) << 16
        }
        return (lo &* 0x9E37_79B9_7F4A_7C15) ^ ((hi ^ UInt64(truncatingIfNeeded: n)) &* 0xC2B2_AE3D_27D4_EB4F)
    }
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
