import Crypto
import Foundation

/// The suppression list's key: 32 random bytes the store makes the first time an address is
/// erased (`store_secret` row `suppression`) and `store copy` moves with the list.
///
/// Why keyed, and why this key: an erased reader's address must not be kept, but must still be
/// recognised when an old CSV list or an API client brings it back. A plain SHA-256 of an
/// address is no protection (anyone with a list of addresses hashes it and compares), so the
/// list holds HMAC-SHA256(key, address): a copy of the list alone, or a log line or backup of
/// it, names nobody. The key lives in the store, not in the configuration, so the list works in
/// every deployment with nothing to set up, cannot be broken by a rotated or forgotten
/// setting, and travels with the hashes it was made for (a dump of the whole store holds both:
/// whoever has that has the remaining lists anyway).
struct SuppressionKey: Sendable {
    static let secretName = "suppression"
    let bytes: [UInt8]

    /// The address as every store compares it: trimmed, in lower case (`NOCASE`, `lower()`).
    static func normalised(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    func hash(_ email: String) -> String {
        Hex.encode(
            HMAC<SHA256>.authenticationCode(
                for: Data(Self.normalised(email).utf8), using: SymmetricKey(data: bytes)))
    }

    init(bytes: [UInt8]) { self.bytes = bytes }

    init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        self.bytes = bytes
    }
}

/// A secret the store holds was not 64 hex digits (edited by hand?): nothing is trusted to it.
struct StoreSecretDamaged: Error, CustomStringConvertible {
    var name: String
    var description: String {
        "the store's secret \"\(name)\" (table store_secret) is not 64 hex digits: restore it from a backup"
    }
}

extension SubscriberRows {
    /// The store's secret `name`, made from the system's CSPRNG the first time it is asked for.
    /// Two transactions making it at once: the first insert wins and both read it.
    func storeSecret(_ name: String, makingAt time: Date) async throws -> [UInt8] {
        if let stored = try await storedSecret(name) { return try Self.secretBytes(stored, name: name) }
        try await insertStoreSecret(name, hex: Hex.encode(RandomBytes.make(32)), at: time)
        guard let stored = try await storedSecret(name) else { throw StoreSecretDamaged(name: name) }
        return try Self.secretBytes(stored, name: name)
    }

    private static func secretBytes(_ hex: String, name: String) throws -> [UInt8] {
        guard let key = SuppressionKey(hex: hex) else { throw StoreSecretDamaged(name: name) }
        return key.bytes
    }

    func suppressionKey(makingAt time: Date) async throws -> SuppressionKey {
        SuppressionKey(bytes: try await storeSecret(SuppressionKey.secretName, makingAt: time))
    }

    /// Whether the address was erased and not signed up again since. No key yet: nobody was.
    func isSuppressed(_ email: String) async throws -> Bool {
        guard let hex = try await storedSecret(SuppressionKey.secretName) else { return false }
        guard let key = SuppressionKey(hex: hex) else { throw StoreSecretDamaged(name: SuppressionKey.secretName) }
        return try await suppressionExists(key.hash(email))
    }

    /// A new double opt-in lifts the suppression: the owner asked to be on the list again.
    func liftSuppression(_ email: String) async throws {
        guard let hex = try await storedSecret(SuppressionKey.secretName), let key = SuppressionKey(hex: hex) else {
            return
        }
        try await deleteSuppression(key.hash(email))
    }
}
