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

    /// The bytes of lowercase or uppercase hex; nil for anything else.
    static func decode(_ text: String) -> [UInt8]? {
        let characters = Array(text.utf8)
        guard characters.count.isMultiple(of: 2) else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(characters.count / 2)
        for index in stride(from: 0, to: characters.count, by: 2) {
            guard let high = value(characters[index]), let low = value(characters[index + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        return out
    }

    /// `count` bytes from the system's CSPRNG (getrandom on Linux), in hex.
    static func random(_ count: Int) -> String {
        encode(RandomBytes.make(count))
    }
}
