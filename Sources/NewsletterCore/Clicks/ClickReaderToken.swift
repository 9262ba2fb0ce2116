import Crypto
import Foundation

/// Under `tracking.clicks = "per-reader"`, the second path segment of each link in one
/// reader's copy: `{subscriber id}.{HMAC}`, signed with the key from `NEWSLETTER_CLICK_KEY`
/// over the week and the subscriber, like a VERP address. Nobody can make another reader's
/// token without the key, and a token of one week counts nothing in another.
///
/// A key, not a stored random token per copy as VERP does, because the send would otherwise
/// write one more row per message; the key is a secret like the SMTP password (environment
/// only, never logged), and changing it only stops old links from counting per reader (they
/// still redirect).
public struct ClickReaderKey: Sendable, Equatable {
    private let secret: [UInt8]

    /// At least 32 characters: the secret's length is its strength.
    public static let minimumLength = 32

    public init?(secret: String) {
        guard secret.utf8.count >= Self.minimumLength else { return nil }
        self.secret = Array(secret.utf8)
    }

    /// The reader's token for `week`.
    public func token(subscriberID: Int64, week: IssueWeek) -> String {
        "\(subscriberID).\(mac(subscriberID: subscriberID, week: week))"
    }

    /// The subscriber a token names, when its signature holds for `week`.
    public func subscriber(token: Substring, week: IssueWeek) -> Int64? {
        guard token.utf8.count <= 40 else { return nil }
        let parts = token.split(separator: ".", maxSplits: 1)
        guard parts.count == 2, parts[0].utf8.count <= 19, let id = Int64(parts[0]), id > 0 else { return nil }
        let expected = mac(subscriberID: id, week: week)
        // Compared in full whatever differs first, so timing says nothing about the MAC.
        guard parts[1].utf8.count == expected.utf8.count,
            zip(parts[1].utf8, expected.utf8).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
        else { return nil }
        return id
    }

    /// 80 bits of HMAC-SHA256, as 16 characters of lower-case base32.
    private func mac(subscriberID: Int64, week: IssueWeek) -> String {
        let digest = HMAC<SHA256>.authenticationCode(
            for: Data("click:\(week):\(subscriberID)".utf8), using: SymmetricKey(data: secret))
        let bytes = Array(digest.prefix(10))
        var out = ""
        var buffer = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(TrackedLink.alphabet[(buffer >> bits) & 31])
            }
        }
        return out
    }
}
