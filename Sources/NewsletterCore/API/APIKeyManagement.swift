import Foundation

/// What `newsletter api-keys` and the owners' keys page do to API keys, written once: each key
/// made or revoked is recorded in the audit log under `actor` (`cli`, or the owner's address),
/// as `WebhookManagement` does for endpoints. The key itself is returned once and recorded
/// nowhere.
public struct APIKeyManagement: Sendable {
    public var store: any APIKeyStore & AuditLogStore
    public var time: any TimeSource
    public var actor: String

    public init(store: any APIKeyStore & AuditLogStore, time: any TimeSource = SystemTime(), actor: String = "cli") {
        self.store = store
        self.time = time
        self.actor = actor
    }

    private var audit: AuditLog { AuditLog(store: store, time: time) }

    /// Stores a new key; throws `APIKeyError` (and records nothing) for a bad or taken name.
    public func create(name: String, scope: APIScope) async throws -> (key: APIKey, secret: String) {
        let created = try await store.createAPIKey(name: name, scope: scope, at: time.now())
        try await audit.record(
            actor: actor, action: .apiKeyCreate, subject: Self.subject(name), detail: "scope \(scope.rawValue)")
        return created
    }

    /// False, and nothing recorded, when no active key has that name.
    public func revoke(name: String) async throws -> Bool {
        guard try await store.revokeAPIKey(name: name, at: time.now()) else { return false }
        try await audit.record(actor: actor, action: .apiKeyRevoke, subject: Self.subject(name))
        return true
    }

    /// What the audit log names a key by (its name; never the key).
    static func subject(_ name: String) -> String { "api-key \(name)" }
}

extension AuditAction {
    public static let apiKeyCreate = AuditAction("api-key.create")
    public static let apiKeyRevoke = AuditAction("api-key.revoke")
}
