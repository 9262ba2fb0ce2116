import Foundation
import GRDB
import PostgresNIO

/// What an API key may do: `read` the lists, `write` them too, `admin` also manage keys and
/// webhooks and name the consent a created subscriber carries. Each scope includes the ones
/// before it.
public enum APIScope: String, CaseIterable, Sendable, Comparable, Codable {
    case read
    case write
    case admin

    public static func < (lhs: APIScope, rhs: APIScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Whether a key of this scope may use an operation needing `needed`.
    public func allows(_ needed: APIScope) -> Bool { self >= needed }
}

/// A stored API key: everything but the key itself, of which only a hash is kept.
public struct APIKey: Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var scope: APIScope
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?
}

/// How keys are made and kept: 32 bytes from the system's CSPRNG behind the prefix `nlk_` (so a
/// leaked key is recognisable to secret scanners and people), of which the store keeps only the
/// SHA-256, as with the subscribers' link tokens.
public enum APIKeySecret {
    public static let prefix = "nlk_"

    public static func make() -> String { prefix + LinkToken.make() }

    public static func hash(_ key: String) -> String { LinkToken.hash(key) }

    /// A name is what `list` and `revoke` go by: short, printable, no spaces at the ends.
    public static func checkName(_ name: String) throws(APIKeyError) {
        guard !name.isEmpty, name.count <= 100, name == name.trimmingCharacters(in: .whitespaces),
            name.unicodeScalars.allSatisfy({ !CharacterSet.controlCharacters.contains($0) })
        else { throw .invalidName(name) }
    }
}

public enum APIKeyError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case nameTaken(String)

    public var description: String {
        switch self {
        case .invalidName(let name):
            "\"\(name)\" is not a usable key name: 1 to 100 printable characters, no spaces at either end"
        case .nameTaken(let name):
            "a key named \"\(name)\" exists already (revoked keys keep their names): choose another name"
        }
    }
}

/// The keys, as the CLI (`newsletter api-keys`) and the API's middleware use them.
public protocol APIKeyStore: Sendable {
    /// Stores a new key of `scope` and returns it with the key itself, which is not kept.
    func createAPIKey(name: String, scope: APIScope, at time: Date) async throws -> (key: APIKey, secret: String)
    /// Every key, revoked ones too, oldest first.
    func apiKeys() async throws -> [APIKey]
    /// Revokes the key named `name`; false when there is no such key or it was revoked already.
    func revokeAPIKey(name: String, at time: Date) async throws -> Bool
    /// The key a request presents, revoked or not; nil for a key never issued.
    func apiKey(secret: String) async throws -> APIKey?
    /// Notes that the key was used at `time`.
    func recordAPIKeyUse(id: Int64, at time: Date) async throws
}

/// The key rows, one statement each, in both stores.
protocol APIKeyRows {
    /// nil, and nothing stored, when the name is taken.
    func insertAPIKey(name: String, scope: APIScope, hash: String, at time: Date) async throws -> Int64?
    func apiKeys() async throws -> [APIKey]
    func apiKey(hash: String) async throws -> APIKey?
    func revokeAPIKey(name: String, at time: Date) async throws -> Bool
    func touchAPIKey(id: Int64, at time: Date) async throws
}

extension RowTransactions {
    public func createAPIKey(name: String, scope: APIScope, at time: Date) async throws -> (
        key: APIKey, secret: String
    ) {
        try APIKeySecret.checkName(name)
        let secret = APIKeySecret.make()
        let id = try await rowTransaction { rows in
            try await rows.insertAPIKey(name: name, scope: scope, hash: APIKeySecret.hash(secret), at: time)
        }
        guard let id else { throw APIKeyError.nameTaken(name) }
        return (APIKey(id: id, name: name, scope: scope, createdAt: time), secret)
    }

    public func apiKeys() async throws -> [APIKey] {
        try await rowRead { rows in try await rows.apiKeys() }
    }

    public func revokeAPIKey(name: String, at time: Date) async throws -> Bool {
        try await rowTransaction { rows in try await rows.revokeAPIKey(name: name, at: time) }
    }

    public func apiKey(secret: String) async throws -> APIKey? {
        // Anything not shaped like a key is not looked up (nor hashed).
        guard secret.hasPrefix(APIKeySecret.prefix), secret.utf8.count <= 100 else { return nil }
        return try await rowRead { rows in try await rows.apiKey(hash: APIKeySecret.hash(secret)) }
    }

    public func recordAPIKeyUse(id: Int64, at time: Date) async throws {
        try await rowTransaction { rows in try await rows.touchAPIKey(id: id, at: time) }
    }
}

extension APIKey {
    init(id: Int64, name: String, scope: String, createdAt: Date, lastUsedAt: Date?, revokedAt: Date?) throws {
        guard let scope = APIScope(rawValue: scope) else {
            throw StoredValueError(what: "api_key.scope", value: scope)
        }
        self.init(id: id, name: name, scope: scope, createdAt: createdAt, lastUsedAt: lastUsedAt, revokedAt: revokedAt)
    }
}

/// A stored value this binary does not know (a newer binary wrote it, or a hand edit).
struct StoredValueError: Error, CustomStringConvertible {
    var what: String
    var value: String
    var description: String { "the store holds \"\(value)\" in \(what), which this newsletter does not know" }
}

extension AppDatabase: APIKeyStore {
    /// `v19-api-keys`.
    static func migrateAPIKeys(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE api_key (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    name TEXT NOT NULL UNIQUE,
                    scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
                    key_hash TEXT NOT NULL UNIQUE,
                    created_at DATETIME NOT NULL,
                    last_used_at DATETIME,
                    revoked_at DATETIME);
                """)
    }
}

extension SQLiteRows: APIKeyRows {
    static let apiKeyColumns = "id, name, scope, created_at, last_used_at, revoked_at"

    private static func apiKey(_ row: Row) throws -> APIKey {
        try APIKey(
            id: row["id"], name: row["name"], scope: row["scope"] as String, createdAt: row["created_at"],
            lastUsedAt: row["last_used_at"], revokedAt: row["revoked_at"])
    }

    func insertAPIKey(name: String, scope: APIScope, hash: String, at time: Date) async throws -> Int64? {
        try await access { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO api_key (name, scope, key_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [name, scope.rawValue, hash, StoredDate.databaseValue(time)])
            return db.changesCount > 0 ? db.lastInsertedRowID : nil
        }
    }

    func apiKeys() async throws -> [APIKey] {
        try await access { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.apiKeyColumns) FROM api_key ORDER BY id").map(Self.apiKey)
        }
    }

    func apiKey(hash: String) async throws -> APIKey? {
        try await access { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.apiKeyColumns) FROM api_key WHERE key_hash = ?", arguments: [hash])
                .map(Self.apiKey)
        }
    }

    func revokeAPIKey(name: String, at time: Date) async throws -> Bool {
        try await access { db in
            try db.execute(
                sql: "UPDATE api_key SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                arguments: [StoredDate.databaseValue(time), name])
            return db.changesCount > 0
        }
    }

    func touchAPIKey(id: Int64, at time: Date) async throws {
        try await access { db in
            try db.execute(
                sql: "UPDATE api_key SET last_used_at = ? WHERE id = ?", arguments: [StoredDate.databaseValue(time), id])
        }
    }
}

extension PostgresStore: APIKeyStore {
    static let apiKeysMigration = Migration(
        version: 13, name: "API keys, by the hash of each (SQLite: v19-api-keys)",
        statements: [
            """
            CREATE TABLE api_key (
                id bigserial PRIMARY KEY,
                name text NOT NULL UNIQUE,
                scope text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
                key_hash text NOT NULL UNIQUE,
                created_at timestamptz NOT NULL,
                last_used_at timestamptz,
                revoked_at timestamptz)
            """
        ])
}

extension PostgresSession: APIKeyRows {
    private static func apiKey(_ row: PostgresRow) throws -> APIKey {
        let (id, name, scope, createdAt, lastUsedAt, revokedAt) = try row.decode(
            (Int64, String, String, Date, Date?, Date?).self)
        return try APIKey(
            id: id, name: name, scope: scope, createdAt: createdAt, lastUsedAt: lastUsedAt, revokedAt: revokedAt)
    }

    func insertAPIKey(name: String, scope: APIScope, hash: String, at time: Date) async throws -> Int64? {
        try await rows(
            """
            INSERT INTO api_key (name, scope, key_hash, created_at) VALUES (\(name), \(scope.rawValue), \(hash), \(time))
            ON CONFLICT DO NOTHING RETURNING id
            """
        ).first?.decode(Int64.self)
    }

    func apiKeys() async throws -> [APIKey] {
        try await rows("SELECT id, name, scope, created_at, last_used_at, revoked_at FROM api_key ORDER BY id")
            .map(Self.apiKey)
    }

    func apiKey(hash: String) async throws -> APIKey? {
        try await rows(
            "SELECT id, name, scope, created_at, last_used_at, revoked_at FROM api_key WHERE key_hash = \(hash)"
        ).first.map(Self.apiKey)
    }

    func revokeAPIKey(name: String, at time: Date) async throws -> Bool {
        try await run("UPDATE api_key SET revoked_at = \(time) WHERE name = \(name) AND revoked_at IS NULL") > 0
    }

    func touchAPIKey(id: Int64, at time: Date) async throws {
        _ = try await run("UPDATE api_key SET last_used_at = \(time) WHERE id = \(id)")
    }
}
