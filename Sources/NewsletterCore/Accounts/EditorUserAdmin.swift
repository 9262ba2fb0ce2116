import Foundation

/// Managing editor users, as `newsletter users` and the owner's users page both do it: the
/// password checked and hashed, the change stored, and the audit log told who made it.
public struct EditorUserAdmin: Sendable {
    public var store: any EditorAccountStore & AuditLogStore
    public var passwords: EditorPassword
    public var time: any TimeSource
    /// How long an invitation link can be used.
    public var invitationLifetime: TimeInterval

    public init(
        store: any EditorAccountStore & AuditLogStore, passwords: EditorPassword, time: any TimeSource = SystemTime(),
        invitationLifetime: TimeInterval = 72 * 3600
    ) {
        self.store = store
        self.passwords = passwords
        self.time = time
        self.invitationLifetime = invitationLifetime
    }

    public init(store: any EditorAccountStore & AuditLogStore, settings: Configuration.Editor, time: any TimeSource) {
        self.init(
            store: store, passwords: EditorPassword(cost: UInt8(settings.bcryptCost)), time: time,
            invitationLifetime: TimeInterval(settings.invitationHours) * 3600)
    }

    private var audit: AuditLog { AuditLog(store: store, time: time) }

    /// Adds a user with a password (checked before it is hashed: a refused one stores nothing).
    public func add(email: String, role: EditorRole, password: String, actor: String) async throws -> EditorUser {
        let hash = try await passwords.hash(password)
        let user = try await store.addEditorUser(email: email, role: role, passwordHash: hash, at: time.now())
        try await audit.record(actor: actor, action: .userAdd, subject: user.email, detail: "role \(role.rawValue)")
        return user
    }

    /// Adds a user without a password and returns the one-time token of the link that sets it
    /// (only its hash is stored); for a user who exists already without a password, a new link.
    public func invite(email: String, role: EditorRole, actor: String) async throws -> (EditorUser, token: String) {
        let user: EditorUser
        if let (existing, hash) = try await store.editorCredentials(email: email) {
            guard hash == nil else { throw EditorAccountError.exists(existing.email) }
            user = existing
        } else {
            user = try await store.addEditorUser(email: email, role: role, passwordHash: nil, at: time.now())
        }
        let token = LinkToken.make()
        let now = time.now()
        try await store.addEditorInvitation(
            email: user.email, tokenHash: LinkToken.hash(token), expiresAt: now.addingTimeInterval(invitationLifetime),
            at: now)
        try await audit.record(actor: actor, action: .userInvite, subject: user.email, detail: "role \(user.role.rawValue)")
        return (user, token)
    }

    /// Sets the invited user's password and spends the link.
    public func acceptInvitation(token: String, password: String) async throws -> EditorUser {
        let hash = try await passwords.hash(password)
        guard
            let user = try await store.redeemEditorInvitation(
                tokenHash: LinkToken.hash(token), passwordHash: hash, at: time.now())
        else { throw EditorAccountError.invitationUnusable }
        return user
    }

    public func remove(email: String, actor: String) async throws {
        guard try await store.removeEditorUser(email: email) else { throw EditorAccountError.noSuchUser(email) }
        try await audit.record(actor: actor, action: .userRemove, subject: email)
    }

    public func setRole(email: String, role: EditorRole, actor: String) async throws {
        guard try await store.setEditorRole(email: email, role: role) else {
            throw EditorAccountError.noSuchUser(email)
        }
        try await audit.record(actor: actor, action: .userRole, subject: email, detail: "role \(role.rawValue)")
    }
}
