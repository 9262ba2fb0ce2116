import Foundation

/// Variable envelope return paths: each copy of an issue goes out with its own MAIL FROM,
/// `bounces+<token>@example.org`, so a bounce names the recipient and the issue even when the
/// DSN itself does not.
///
/// The token is 160 random bits from the system CSPRNG, made when the ledger row is claimed,
/// and only its SHA-256 is stored beside the (week, subscriber) it stands for. It says nothing
/// about either, and no one can turn their own token into another subscriber's: there is no
/// structure to edit and no key to steal, only a table lookup that fails. (An HMAC over the
/// ids would need a key kept, rotated and backed up, and would still carry the ids in clear or
/// need encrypting.) Base32, lower case, because receivers may fold the local part's case.
public struct VERPAddress: Sendable, Equatable {
    /// `mail.bounce_address`, e.g. `bounces@example.org`.
    public var base: MailAddress
    private let local: String
    private let domain: String

    public init(base: MailAddress) {
        self.base = base
        let parts = base.address.split(separator: "@", maxSplits: 1)
        local = String(parts.first ?? "")
        domain = parts.count > 1 ? String(parts[1]) : ""
    }

    /// The envelope sender for the copy whose token this is.
    public func address(token: String) -> String { "\(local)+\(token)@\(domain)" }

    /// The tokens of every VERP address of ours in `text` (a header value, a DSN field).
    public func tokens(in text: String) -> [String] {
        let lower = text.lowercased()
        let prefix = local.lowercased() + "+"
        let suffix = "@" + domain.lowercased()
        var found: [String] = []
        var searchStart = lower.startIndex
        while let range = lower.range(of: prefix, range: searchStart..<lower.endIndex) {
            searchStart = range.upperBound
            // The local part must start here, not inside a longer one ("xbounces+").
            if range.lowerBound > lower.startIndex {
                let before = lower[lower.index(before: range.lowerBound)]
                if before.isLetter || before.isNumber || before == "." || before == "-" || before == "_" { continue }
            }
            let token = lower[range.upperBound...].prefix { Self.alphabet.contains($0) }
            guard token.count == Self.tokenLength, lower[token.endIndex...].hasPrefix(suffix) else { continue }
            found.append(String(token))
        }
        return found
    }

    static let tokenLength = 32
    static let alphabet = Set("abcdefghijklmnopqrstuvwxyz234567")

    /// 20 random bytes as 32 characters of lower-case base32.
    public static func newToken() -> String {
        Base32.lowercase(RandomBytes.make(20))
    }
}
