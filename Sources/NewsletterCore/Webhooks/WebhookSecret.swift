import Crypto
import Foundation

/// An endpoint's signing secret, `whsec_` and the base64 of its key's bytes (Standard Webhooks).
/// It is stored as it is (the signature needs the key), shown once when the endpoint is added,
/// and never logged.
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    private let keyBytes: Data

    static let prefix = "whsec_"

    /// A new secret of 32 random bytes.
    public static func make() -> WebhookSecret {
        let bytes = Data(RandomBytes.make(32))
        // A new secret's text is always well-formed.
        return try! WebhookSecret(prefix + bytes.base64EncodedString())
    }

    public init(_ text: String) throws(WebhookSecretError) {
        guard text.hasPrefix(Self.prefix), let bytes = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))),
            (24...64).contains(bytes.count)
        else { throw WebhookSecretError() }
        self.text = text
        keyBytes = bytes
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`: the `webhook-signature` header's value.
    public func signature(id: String, timestamp: Int, body: String) -> String {
        let content = Data("\(id).\(timestamp).\(body)".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: content, using: SymmetricKey(data: keyBytes))
        return "v1," + Data(mac).base64EncodedString()
    }

    /// Never the secret itself, wherever it is interpolated.
    public var description: String { "whsec_…" }

    public static func == (lhs: WebhookSecret, rhs: WebhookSecret) -> Bool { lhs.text == rhs.text }
}

/// A secret that is not `whsec_` and the base64 of 24 to 64 bytes.
public struct WebhookSecretError: Error, CustomStringConvertible, Sendable {
    public var description: String { "the secret is not \"whsec_\" followed by the base64 of 24 to 64 bytes" }
}
