import Foundation
import PostgresNIO

/// The PostgreSQL schema, in versions. Each version is applied once, in one transaction with
/// its row in `newsletter_schema`, under a transaction-scoped advisory lock: a second process
/// starting at the same moment waits, then finds nothing left to do. PostgreSQL's DDL is
/// transactional, so a failed migration leaves the schema as it was.
extension PostgresStore {
    struct Migration: Sendable {
        var version: Int
        var name: String
        var statements: [String]
    }

    /// "newsltr1": the advisory lock every migration takes.
    static let schemaLockKey: Int64 = 0x6E65_7773_6C74_7231

    static let migrations: [Migration] = [
        Migration(
            version: 1, name: "subscribers",
            statements: [
                """
                CREATE TABLE subscriber (
                    id bigserial PRIMARY KEY,
                    email text NOT NULL,
                    name text,
                    status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed', 'bounced')),
                    created_at timestamptz NOT NULL,
                    permanent_failures integer NOT NULL DEFAULT 0,
                    format text NOT NULL DEFAULT 'html' CHECK (format IN ('html', 'text')),
                    paused boolean NOT NULL DEFAULT false,
                    confirmed_at timestamptz
                )
                """,
                // Addresses are compared case-insensitively, as the SQLite store's NOCASE does.
                "CREATE UNIQUE INDEX subscriber_email ON subscriber (lower(email))",
                "CREATE INDEX subscriber_status ON subscriber (status, id)",
            ]),
        // PostgresStore+Leases.swift.
        leaseMigration,
        // PostgresStore+Schema.swift.
        remainingTablesMigration,
        // PostgresStore+ListLimit.swift.
        listSendLimitMigration,
        // PostgresStore+Leases.swift.
        pendingQueueMigration,
        // PostgresStore+Clicks.swift.
        clicksMigration,
        // PostgresStore+Relays.swift.
        relaysMigration,
        // PostgresStore+Reports.swift.
        reportsMigration,
        // ProviderEventLedger.swift.
        providerEventsMigration,
        // EditorAccountRows.swift.
        editorAccountsMigration,
        // PostgresStore+Readers.swift.
        readersMigration,
        // PostgresStore+Webhooks.swift.
        webhooksMigration,
        // APIKeys.swift.
        apiKeysMigration,
    ]

    /// The newest schema version this binary knows.
    public static var knownSchemaVersion: Int { migrations.last?.version ?? 0 }

    /// Brings the schema up to date; returns the versions it applied (none when another
    /// process, or an earlier start, already did).
    @discardableResult
    public func migrate() async throws(PostgresStoreError) -> [Int] {
        let location = self.location
        return try await transaction { try await Self.applyMigrations($0, location: location) }
    }

    /// The schema version found, without changing anything: for a store opened without migrating.
    public func schemaVersion() async throws(PostgresStoreError) -> Int {
        let location = self.location
        return try await read { try await Self.schemaVersion($0, location: location, creating: false) }
    }

    /// The migrations not yet applied, in one transaction on `connection` (the first contact's).
    static func migrate(_ connection: PostgresSession, location: PostgresLocation) async throws -> [Int] {
        try await connection.transaction { try await applyMigrations($0, location: location) }
    }

    /// Inside the caller's transaction, under the schema's advisory lock.
    private static func applyMigrations(_ connection: PostgresSession, location: PostgresLocation) async throws
        -> [Int]
    {
        try await lockSchema(connection, location: location)
        let current = try await Self.schemaVersion(connection, location: location, creating: true)
        var applied: [Int] = []
        for migration in Self.migrations where migration.version > current {
            for statement in migration.statements { try await connection.run(PostgresQuery(unsafeSQL: statement)) }
            try await connection.run(
                "INSERT INTO newsletter_schema (version, name, applied_at) VALUES (\(migration.version), \(migration.name), now())"
            )
            applied.append(migration.version)
        }
        return applied
    }

    /// How long a process waits for another's migration before it gives up.
    static var schemaLockPatience: Duration { .seconds(1800) }

    /// The schema's lock, asked for a statement at a time. A process starting while another
    /// migrates waits for as long as that takes (a big table's new index can outlast one
    /// statement's deadline); `pg_advisory_xact_lock` would have waited inside one statement
    /// and failed at query_timeout as if the server had stopped answering.
    static func lockSchema(_ connection: PostgresSession, location: PostgresLocation) async throws {
        let clock = ContinuousClock()
        let started = clock.now
        while try await connection.rows("SELECT pg_try_advisory_xact_lock(\(Self.schemaLockKey))").first?.decode(
            Bool.self) != true
        {
            guard clock.now - started < schemaLockPatience else {
                throw PostgresStoreError.other(
                    "another process has been migrating the database \"\(location.database)\" for \(schemaLockPatience) (its schema lock is held): wait for it, or find it in pg_stat_activity"
                )
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    static func checkSchema(_ connection: PostgresSession, location: PostgresLocation) async throws {
        let found = try await schemaVersion(connection, location: location, creating: false)
        guard found == Self.knownSchemaVersion else {
            throw PostgresStoreError.other(
                "the database \"\(location.database)\" has schema version \(found), this newsletter needs \(Self.knownSchemaVersion): run `newsletter store migrate`"
            )
        }
    }

    /// Reads the version; refuses a database with tables that are not ours, or a schema newer
    /// than this binary. With `creating`, an empty database gets the version table (inside the
    /// caller's transaction).
    private static func schemaVersion(_ connection: PostgresSession, location: PostgresLocation, creating: Bool)
        async throws -> Int
    {
        let marker = try await connection.rows("SELECT to_regclass('public.newsletter_schema') IS NOT NULL")
        let hasMarker = try marker.first?.decode(Bool.self) ?? false
        guard hasMarker else {
            let foreign = try await connection.rows(
                """
                SELECT table_schema || '.' || table_name FROM information_schema.tables
                WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
                """
            ).map { try $0.decode(String.self) }
            guard foreign.isEmpty else { throw PostgresStoreError.notOurs(location, tables: foreign) }
            if creating {
                try await connection.run(
                    """
                    CREATE TABLE newsletter_schema (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)
                    """)
            }
            return 0
        }
        let version =
            try await connection.rows("SELECT COALESCE(MAX(version), 0) FROM newsletter_schema").first?.decode(
                Int.self) ?? 0
        guard version <= knownSchemaVersion else {
            throw PostgresStoreError.schemaTooNew(location, found: version, known: knownSchemaVersion)
        }
        return version
    }
}
