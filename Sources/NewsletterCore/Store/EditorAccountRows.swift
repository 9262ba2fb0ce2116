import Foundation
import GRDB
import PostgresNIO

/// The editor users, invitations, sessions and the audit log, one statement each, in both
/// stores; the workflows over them are written once below.
protocol EditorAccountRows {
    /// nil when the address is a user's already.
    func insertEditorUser(email: String, role: EditorRole, passwordHash: String?, at time: Date) async throws
        -> EditorUser?
    func editorUserList() async throws -> [EditorUser]
    func editorUser(email: String) async throws -> (user: EditorUser, passwordHash: String?)?
    /// Its sessions and invitations go first (no cascade is relied on in either store).
    func deleteEditorUserRows(userID: Int64) async throws
    func updateEditorRole(userID: Int64, role: EditorRole) async throws
    func updateEditorPassword(userID: Int64, passwordHash: String) async throws
    func editorOwnerCount() async throws -> Int
    /// The owners' ids, their rows locked until the transaction ends (PostgreSQL: `FOR UPDATE`;
    /// SQLite's writes are serialized already), so two owners removed or demoted at once
    /// cannot both see the other as the one who stays.
    func lockedEditorOwnerIDs() async throws -> [Int64]
    func deleteEditorInvitations(userID: Int64) async throws
    func insertEditorInvitation(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws
    func invitedEditorUser(tokenHash: String, at time: Date) async throws -> EditorUser?
    func deleteEditorInvitation(tokenHash: String) async throws
    func insertEditorSession(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws
    func sessionEditorUser(tokenHash: String, at time: Date) async throws -> EditorUser?
    func deleteEditorSession(tokenHash: String) async throws
    func deleteEditorSessions(expiredBy time: Date) async throws
    func insertAuditEntry(_ entry: AuditEntry) async throws
    func auditEntryList(subject: String?, limit: Int) async throws -> [AuditEntry]
}

extension RowTransactions {
    public func addEditorUser(email: String, role: EditorRole, passwordHash: String?, at time: Date) async throws
        -> EditorUser
    {
        let address = try MailAddress(email.trimmingCharacters(in: .whitespaces))
        // Refused outside the transaction, so both stores throw the refusal as it is.
        let added = try await rowTransaction { rows in
            try await rows.insertEditorUser(email: address.address, role: role, passwordHash: passwordHash, at: time)
        }
        guard let added else { throw EditorAccountError.exists(address.address) }
        return added
    }

    public func editorUsers() async throws -> [EditorUser] {
        try await rowRead { rows in try await rows.editorUserList() }
    }

    public func editorCredentials(email: String) async throws -> (user: EditorUser, passwordHash: String?)? {
        let email = email.trimmingCharacters(in: .whitespaces)
        return try await rowRead { rows in try await rows.editorUser(email: email) }
    }

    public func removeEditorUser(email: String) async throws -> Bool {
        try await changeEditorUser(email: email, leavingOwner: true) { rows, user in
            try await rows.deleteEditorUserRows(userID: user.id)
        }
    }

    public func setEditorRole(email: String, role: EditorRole) async throws -> Bool {
        try await changeEditorUser(email: email, leavingOwner: role != .owner) { rows, user in
            try await rows.updateEditorRole(userID: user.id, role: role)
        }
    }

    /// Removes or changes a user in one transaction, refusing (`.lastOwner`) to leave no owner:
    /// with none, the shared editor token would open the editor pages again to whoever holds it.
    /// False when there is no such user.
    private func changeEditorUser(
        email: String, leavingOwner: Bool, _ change: (Rows, EditorUser) async throws -> Void
    ) async throws -> Bool {
        let outcome = try await rowTransaction { rows -> EditorUserChange in
            guard let (user, _) = try await rows.editorUser(email: email) else { return .noSuchUser }
            if leavingOwner, user.role == .owner, try await rows.lockedEditorOwnerIDs().count <= 1 {
                return .lastOwner(user.email)
            }
            try await change(rows, user)
            return .changed
        }
        // Thrown outside the transaction, so both stores throw the refusal as it is.
        switch outcome {
        case .changed: return true
        case .noSuchUser: return false
        case .lastOwner(let owner): throw EditorAccountError.lastOwner(owner)
        }
    }

    public func editorOwnerExists() async throws -> Bool {
        try await rowRead { rows in try await rows.editorOwnerCount() > 0 }
    }

    public func addEditorInvitation(email: String, tokenHash: String, expiresAt: Date, at time: Date) async throws {
        let invited = try await rowTransaction { rows in
            guard let (user, _) = try await rows.editorUser(email: email) else { return false }
            // One live invitation a user: a new link spends the old one.
            try await rows.deleteEditorInvitations(userID: user.id)
            try await rows.insertEditorInvitation(userID: user.id, tokenHash: tokenHash, expiresAt: expiresAt, at: time)
            return true
        }
        guard invited else { throw EditorAccountError.noSuchUser(email) }
    }

    public func editorInvitation(tokenHash: String, at time: Date) async throws -> EditorUser? {
        try await rowRead { rows in try await rows.invitedEditorUser(tokenHash: tokenHash, at: time) }
    }

    public func redeemEditorInvitation(tokenHash: String, passwordHash: String, at time: Date) async throws
        -> EditorUser?
    {
        try await rowTransaction { rows in
            guard let user = try await rows.invitedEditorUser(tokenHash: tokenHash, at: time) else { return nil }
            try await rows.deleteEditorInvitation(tokenHash: tokenHash)
            try await rows.updateEditorPassword(userID: user.id, passwordHash: passwordHash)
            var redeemed = user
            redeemed.hasPassword = true
            return redeemed
        }
    }

    public func addEditorSession(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws {
        try await rowTransaction { rows in
            try await rows.deleteEditorSessions(expiredBy: time)
            try await rows.insertEditorSession(userID: userID, tokenHash: tokenHash, expiresAt: expiresAt, at: time)
        }
    }

    public func editorSession(tokenHash: String, at time: Date) async throws -> EditorUser? {
        try await rowRead { rows in try await rows.sessionEditorUser(tokenHash: tokenHash, at: time) }
    }

    public func removeEditorSession(tokenHash: String) async throws {
        try await rowTransaction { rows in try await rows.deleteEditorSession(tokenHash: tokenHash) }
    }

    public func recordAudit(_ entry: AuditEntry) async throws {
        try await rowTransaction { rows in try await rows.insertAuditEntry(entry) }
    }

    public func auditEntries(subject: String?, limit: Int) async throws -> [AuditEntry] {
        try await rowRead { rows in try await rows.auditEntryList(subject: subject, limit: limit) }
    }
}

/// What `changeEditorUser` did, returned from its transaction.
private enum EditorUserChange: Sendable {
    case changed, noSuchUser, lastOwner(String)
}

// MARK: - SQLite

extension AppDatabase: EditorAccountStore, AuditLogStore {
    /// `v16-editor-accounts`.
    static func migrateEditorAccounts(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE editor_user (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
                    role TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
                    password_hash TEXT,
                    created_at DATETIME NOT NULL);
                CREATE TABLE editor_invitation (
                    token_hash TEXT PRIMARY KEY NOT NULL,
                    user_id INTEGER NOT NULL REFERENCES editor_user (id),
                    expires_at DATETIME NOT NULL,
                    created_at DATETIME NOT NULL);
                CREATE TABLE editor_session (
                    token_hash TEXT PRIMARY KEY NOT NULL,
                    user_id INTEGER NOT NULL REFERENCES editor_user (id),
                    expires_at DATETIME NOT NULL,
                    created_at DATETIME NOT NULL);
                CREATE INDEX editor_session_expiry ON editor_session (expires_at);
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    at DATETIME NOT NULL,
                    actor TEXT NOT NULL,
                    action TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    detail TEXT NOT NULL DEFAULT '');
                CREATE INDEX audit_log_subject ON audit_log (subject, id);
                """)
    }
}

extension SQLiteRows: EditorAccountRows {
    private static let userColumns = "u.id, u.email, u.role, u.password_hash, u.created_at"

    private static func user(_ row: Row) -> EditorUser {
        EditorUser(
            id: row["id"], email: row["email"], role: EditorRole(rawValue: row["role"]) ?? .viewer,
            hasPassword: (row["password_hash"] as String?) != nil, createdAt: row["created_at"])
    }

    func insertEditorUser(email: String, role: EditorRole, passwordHash: String?, at time: Date) async throws
        -> EditorUser?
    {
        try await access { db in
            try db.execute(
                sql: """
                    INSERT INTO editor_user (email, role, password_hash, created_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (email) DO NOTHING
                    """, arguments: [email, role.rawValue, passwordHash, StoredDate.databaseValue(time)])
            guard db.changesCount > 0 else { return nil }
            return EditorUser(
                id: db.lastInsertedRowID, email: email, role: role, hasPassword: passwordHash != nil, createdAt: time)
        }
    }

    func editorUserList() async throws -> [EditorUser] {
        try await access { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.userColumns) FROM editor_user u ORDER BY u.email").map(Self.user)
        }
    }

    func editorUser(email: String) async throws -> (user: EditorUser, passwordHash: String?)? {
        try await access { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.userColumns) FROM editor_user u WHERE u.email = ?", arguments: [email])
                .map { (Self.user($0), $0["password_hash"]) }
        }
    }

    func deleteEditorUserRows(userID: Int64) async throws {
        try await access { db in
            try db.execute(
                sql: """
                    DELETE FROM editor_session WHERE user_id = ?;
                    DELETE FROM editor_invitation WHERE user_id = ?;
                    DELETE FROM editor_user WHERE id = ?;
                    """, arguments: [userID, userID, userID])
        }
    }

    func updateEditorRole(userID: Int64, role: EditorRole) async throws {
        try await access { db in
            try db.execute(sql: "UPDATE editor_user SET role = ? WHERE id = ?", arguments: [role.rawValue, userID])
        }
    }

    func updateEditorPassword(userID: Int64, passwordHash: String) async throws {
        try await access { db in
            try db.execute(
                sql: "UPDATE editor_user SET password_hash = ? WHERE id = ?", arguments: [passwordHash, userID])
        }
    }

    func editorOwnerCount() async throws -> Int {
        try await access { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM editor_user WHERE role = 'owner'") ?? 0
        }
    }

    func lockedEditorOwnerIDs() async throws -> [Int64] {
        try await access { db in try Int64.fetchAll(db, sql: "SELECT id FROM editor_user WHERE role = 'owner'") }
    }

    func deleteEditorInvitations(userID: Int64) async throws {
        try await access { db in
            try db.execute(sql: "DELETE FROM editor_invitation WHERE user_id = ?", arguments: [userID])
        }
    }

    func insertEditorInvitation(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws {
        try await access { db in
            try db.execute(
                sql: "INSERT INTO editor_invitation (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, userID, StoredDate.databaseValue(expiresAt), StoredDate.databaseValue(time)])
        }
    }

    func invitedEditorUser(tokenHash: String, at time: Date) async throws -> EditorUser? {
        try await access { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT \(Self.userColumns) FROM editor_invitation i JOIN editor_user u ON u.id = i.user_id
                    WHERE i.token_hash = ? AND i.expires_at > ?
                    """, arguments: [tokenHash, StoredDate.databaseValue(time)]
            ).map(Self.user)
        }
    }

    func deleteEditorInvitation(tokenHash: String) async throws {
        try await access { db in
            try db.execute(sql: "DELETE FROM editor_invitation WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    func insertEditorSession(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws {
        try await access { db in
            try db.execute(
                sql: "INSERT INTO editor_session (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                arguments: [tokenHash, userID, StoredDate.databaseValue(expiresAt), StoredDate.databaseValue(time)])
        }
    }

    func sessionEditorUser(tokenHash: String, at time: Date) async throws -> EditorUser? {
        try await access { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT \(Self.userColumns) FROM editor_session s JOIN editor_user u ON u.id = s.user_id
                    WHERE s.token_hash = ? AND s.expires_at > ?
                    """, arguments: [tokenHash, StoredDate.databaseValue(time)]
            ).map(Self.user)
        }
    }

    func deleteEditorSession(tokenHash: String) async throws {
        try await access { db in
            try db.execute(sql: "DELETE FROM editor_session WHERE token_hash = ?", arguments: [tokenHash])
        }
    }

    func deleteEditorSessions(expiredBy time: Date) async throws {
        try await access { db in
            try db.execute(
                sql: "DELETE FROM editor_session WHERE expires_at <= ?", arguments: [StoredDate.databaseValue(time)])
        }
    }

    func insertAuditEntry(_ entry: AuditEntry) async throws {
        try await access { db in
            try db.execute(
                sql: "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                arguments: [
                    StoredDate.databaseValue(entry.at), entry.actor, entry.action.rawValue, entry.subject, entry.detail,
                ])
        }
    }

    func auditEntryList(subject: String?, limit: Int) async throws -> [AuditEntry] {
        try await access { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, at, actor, action, subject, detail FROM audit_log WHERE (? IS NULL OR subject = ?)
                    ORDER BY id DESC LIMIT ?
                    """, arguments: [subject, subject, limit]
            ).map {
                AuditEntry(
                    id: $0["id"], at: $0["at"], actor: $0["actor"], action: AuditAction($0["action"] as String),
                    subject: $0["subject"], detail: $0["detail"])
            }
        }
    }
}

// MARK: - PostgreSQL

extension PostgresStore: EditorAccountStore, AuditLogStore {
    static let editorAccountsMigration = Migration(
        version: 10, name: "editor users, invitations, sessions and the audit log (SQLite: v16-editor-accounts)",
        statements: [
            """
            CREATE TABLE editor_user (
                id bigserial PRIMARY KEY,
                email text NOT NULL,
                role text NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
                password_hash text,
                created_at timestamptz NOT NULL)
            """,
            // Addresses are compared case-insensitively, as the SQLite store's NOCASE does.
            "CREATE UNIQUE INDEX editor_user_email ON editor_user (lower(email))",
            """
            CREATE TABLE editor_invitation (
                token_hash text PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES editor_user (id),
                expires_at timestamptz NOT NULL,
                created_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE editor_session (
                token_hash text PRIMARY KEY,
                user_id bigint NOT NULL REFERENCES editor_user (id),
                expires_at timestamptz NOT NULL,
                created_at timestamptz NOT NULL)
            """,
            "CREATE INDEX editor_session_expiry ON editor_session (expires_at)",
            """
            CREATE TABLE audit_log (
                id bigserial PRIMARY KEY,
                at timestamptz NOT NULL,
                actor text NOT NULL,
                action text NOT NULL,
                subject text NOT NULL,
                detail text NOT NULL DEFAULT '')
            """,
            "CREATE INDEX audit_log_subject ON audit_log (subject, id)",
        ])
}

extension PostgresSession: EditorAccountRows {
    private static let userColumns: PostgresQuery = "u.id, u.email, u.role, u.password_hash, u.created_at"

    private static func user(_ row: PostgresRow) throws -> (user: EditorUser, passwordHash: String?) {
        let (id, email, role, hash, createdAt) = try row.decode((Int64, String, String, String?, Date).self)
        return (
            EditorUser(
                id: id, email: email, role: EditorRole(rawValue: role) ?? .viewer, hasPassword: hash != nil,
                createdAt: createdAt), hash
        )
    }

    func insertEditorUser(email: String, role: EditorRole, passwordHash: String?, at time: Date) async throws
        -> EditorUser?
    {
        try await rows(
            """
            INSERT INTO editor_user (email, role, password_hash, created_at)
            VALUES (\(email), \(role.rawValue), \(passwordHash), \(time))
            ON CONFLICT DO NOTHING RETURNING id
            """
        ).first.map {
            EditorUser(
                id: try $0.decode(Int64.self), email: email, role: role, hasPassword: passwordHash != nil,
                createdAt: time)
        }
    }

    func editorUserList() async throws -> [EditorUser] {
        try await rows("SELECT u.id, u.email, u.role, u.password_hash, u.created_at FROM editor_user u ORDER BY lower(u.email)")
            .map { try Self.user($0).user }
    }

    func editorUser(email: String) async throws -> (user: EditorUser, passwordHash: String?)? {
        try await rows(
            """
            SELECT u.id, u.email, u.role, u.password_hash, u.created_at FROM editor_user u
            WHERE lower(u.email) = lower(\(email))
            """
        ).first.map(Self.user)
    }

    func deleteEditorUserRows(userID: Int64) async throws {
        _ = try await run("DELETE FROM editor_session WHERE user_id = \(userID)")
        _ = try await run("DELETE FROM editor_invitation WHERE user_id = \(userID)")
        _ = try await run("DELETE FROM editor_user WHERE id = \(userID)")
    }

    func updateEditorRole(userID: Int64, role: EditorRole) async throws {
        _ = try await run("UPDATE editor_user SET role = \(role.rawValue) WHERE id = \(userID)")
    }

    func updateEditorPassword(userID: Int64, passwordHash: String) async throws {
        _ = try await run("UPDATE editor_user SET password_hash = \(passwordHash) WHERE id = \(userID)")
    }

    func editorOwnerCount() async throws -> Int {
        try await rows("SELECT count(*)::bigint FROM editor_user WHERE role = 'owner'").first?.decode(Int.self) ?? 0
    }

    func lockedEditorOwnerIDs() async throws -> [Int64] {
        try await rows("SELECT id FROM editor_user WHERE role = 'owner' ORDER BY id FOR UPDATE").map { try $0.decode(Int64.self) }
    }

    func deleteEditorInvitations(userID: Int64) async throws {
        _ = try await run("DELETE FROM editor_invitation WHERE user_id = \(userID)")
    }

    func insertEditorInvitation(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws {
        _ = try await run(
            """
            INSERT INTO editor_invitation (token_hash, user_id, expires_at, created_at)
            VALUES (\(tokenHash), \(userID), \(expiresAt), \(time))
            """)
    }

    func invitedEditorUser(tokenHash: String, at time: Date) async throws -> EditorUser? {
        try await rows(
            """
            SELECT u.id, u.email, u.role, u.password_hash, u.created_at
            FROM editor_invitation i JOIN editor_user u ON u.id = i.user_id
            WHERE i.token_hash = \(tokenHash) AND i.expires_at > \(time)
            """
        ).first.map { try Self.user($0).user }
    }

    func deleteEditorInvitation(tokenHash: String) async throws {
        _ = try await run("DELETE FROM editor_invitation WHERE token_hash = \(tokenHash)")
    }

    func insertEditorSession(userID: Int64, tokenHash: String, expiresAt: Date, at time: Date) async throws {
        _ = try await run(
            """
            INSERT INTO editor_session (token_hash, user_id, expires_at, created_at)
            VALUES (\(tokenHash), \(userID), \(expiresAt), \(time))
            """)
    }

    func sessionEditorUser(tokenHash: String, at time: Date) async throws -> EditorUser? {
        try await rows(
            """
            SELECT u.id, u.email, u.role, u.password_hash, u.created_at
            FROM editor_session s JOIN editor_user u ON u.id = s.user_id
            WHERE s.token_hash = \(tokenHash) AND s.expires_at > \(time)
            """
        ).first.map { try Self.user($0).user }
    }

    func deleteEditorSession(tokenHash: String) async throws {
        _ = try await run("DELETE FROM editor_session WHERE token_hash = \(tokenHash)")
    }

    func deleteEditorSessions(expiredBy time: Date) async throws {
        _ = try await run("DELETE FROM editor_session WHERE expires_at <= \(time)")
    }

    func insertAuditEntry(_ entry: AuditEntry) async throws {
        _ = try await run(
            """
            INSERT INTO audit_log (at, actor, action, subject, detail)
            VALUES (\(entry.at), \(entry.actor), \(entry.action.rawValue), \(entry.subject), \(entry.detail))
            """)
    }

    func auditEntryList(subject: String?, limit: Int) async throws -> [AuditEntry] {
        try await rows(
            """
            SELECT id, at, actor, action, subject, detail FROM audit_log
            WHERE (\(subject)::text IS NULL OR subject = \(subject)) ORDER BY id DESC LIMIT \(limit)
            """
        ).map {
            let (id, at, actor, action, subject, detail) = try $0.decode((Int64, Date, String, String, String, String).self)
            return AuditEntry(id: id, at: at, actor: actor, action: AuditAction(action), subject: subject, detail: detail)
        }
    }
}
