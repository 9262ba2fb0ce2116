import Crypto
import Foundation

/// Lowercase hex, for hashes and random identifiers: one table, no formatter per byte.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func encode<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 as 64 hex characters.
    static func sha256<Bytes: DataProtocol>(_ bytes: Bytes) -> String {
        encode(SHA256.hash(data: bytes))
    }

    /// `count` bytes from the system's CSPRNG (getrandom on Linux), in hex.
    static func random(_ count: Int) -> String {
        encode(RandomBytes.make(count))
    }
}
