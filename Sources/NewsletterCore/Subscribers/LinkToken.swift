import Foundation

/// How the tokens in subscribers' links (confirm, unsubscribe, preferences) are made and kept:
/// the core's rule, which every store applies. A token is 32 bytes from the system's CSPRNG,
/// URL-safe base64 without padding; a store keeps only its SHA-256, so a copy of the database
/// cannot unsubscribe anyone.
public enum LinkToken {
    public static func make() -> String {
        let bytes = RandomBytes.make(32)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(43)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for byte in chunk { value = value << 8 | Int(byte) }
            value <<= 8 * (3 - chunk.count)
            for position in 0...chunk.count { out.append(alphabet[(value >> (18 - 6 * position)) & 63]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What a store keeps of a token (and looks a presented token up by).
    public static func hash(_ token: String) -> String {
        Hex.sha256(Array(token.utf8))
    }

    /// Whether a stored confirmation token may still be used at `time`.
    public static func confirmationState(usedAt: Date?, expiresAt: Date?, at time: Date) -> ConfirmationTokenState {
        if usedAt != nil { return .used }
        if let expiresAt, expiresAt <= time { return .expired }
        return .usable
    }
}

public enum ConfirmationTokenState: Sendable, Equatable {
    case usable
    case used
    case expired
}
