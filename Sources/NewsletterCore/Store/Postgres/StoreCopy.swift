import Foundation
import GRDB
import PostgresNIO

/// `newsletter store copy --to URL`: the whole SQLite store into an empty PostgreSQL database,
/// in one pass and one transaction on each side. The SQLite side is read from one snapshot (a
/// `send` or `serve` may go on writing beside it: what they write after the snapshot is not
/// copied, and the counts say what was); the PostgreSQL side commits only if every table's
/// count matches the snapshot's, so a copy that fails leaves the target as empty as it was.
public enum StoreCopy {
    /// The tables, named alike in both stores, parents before children so each foreign key
    /// holds as its row goes in.
    static let tables = [
        "comparison", "comparison_tool", "take", "missing_take", "topic", "comparison_topic", "issue",
        "issue_comparison", "subscriber", "subscriber_topic", "delivery", "subscriber_token", "consent",
        "endpoint_mail", "summary", "summary_override", "run_week", "editor_preview", "verp_token", "bounce_event",
        "issue_link", "issue_link_reader", "relay_health",
        "provider_event", "editor_user", "editor_invitation", "editor_session", "audit_log", "store_secret",
        "suppression", "erased_delivery",
        "webhook_endpoint", "webhook_event", "webhook_delivery", "webhook_attempt", "api_key",
    ]

    /// The PostgreSQL tables that must be empty before a copy: the copied ones and the senders'.
    static var targetTables: [String] { tables + ["sender"] }

    /// Copies `source` into `target` (migrated, and empty). `progress` hears each table once it
    /// is copied. Nothing is written to `target` unless all of it is.
    public static func copy(
        from source: AppDatabase, to target: PostgresStore, progress: (StoreCopyReport.Table) -> Void = { _ in }
    ) async throws(StoreCopyError) -> StoreCopyReport {
        var failure: StoreCopyError?
        do {
            return try await target.transaction { connection in
                do {
                    // Two copies at once into one database (or a copy during a migration): the
                    // second waits, however long the first takes, then finds it full.
                    try await PostgresStore.lockSchema(connection, location: target.location)
                    for table in targetTables {
                        let rows =
                            try await connection.rows(
                                PostgresQuery(
                                    unsafeSQL: "SELECT count(*) FROM (SELECT 1 FROM \(table) LIMIT 1) AS any_row")
                            ).first?.decode(Int.self) ?? 0
                        if rows > 0 {
                            let total =
                                try await connection.rows(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"))
                                .first?.decode(Int.self) ?? rows
                            throw StoreCopyError.targetNotEmpty(target.location, table: table, rows: total)
                        }
                    }
                    // Every read below sees the store as it was here, whatever is written beside it.
                    let snapshot: any DatabaseReader =
                        try (source.writer as? DatabasePool)?.makeSnapshot() ?? source.reader
                    try await snapshot.read { db in try checkTablesKnown(db) }
                    var report = StoreCopyReport(tables: [])
                    for table in tables {
                        let copied = try await copyTable(table, from: snapshot, connection)
                        let counted =
                            try await connection.rows(
                                PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)")
                            ).first?.decode(Int.self) ?? 0
                        let sqliteRows = try await snapshot.read { db in
                            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier)")
                                ?? 0
                        }
                        let copy = StoreCopyReport.Table(
                            name: table, sqliteRows: sqliteRows, copiedRows: copied, postgresRows: counted)
                        report.tables.append(copy)
                        progress(copy)
                    }
                    let differing = report.tables.filter { !$0.matches }
                    guard differing.isEmpty else { throw StoreCopyError.countsDiffer(differing) }
                    try await restartSequences(connection)
                    return report
                } catch let error as StoreCopyError {
                    failure = error
                    throw error
                }
            }
        } catch {
            if let failure { throw failure }
            throw .target(error)
        }
    }

    /// A table in the SQLite store this copy does not know would be left behind: refuse instead.
    private static func checkTablesKnown(_ db: Database) throws {
        let known = Set(tables)
        let present = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                AND name NOT LIKE 'grdb_%' ORDER BY name
                """)
        let unknown = present.filter { !known.contains($0) }
        guard unknown.isEmpty else { throw StoreCopyError.unknownTables(unknown) }
    }

    /// Copies one table in multi-row INSERTs, reading it in batches by rowid; returns the rows copied.
    private static func copyTable(
        _ table: String, from snapshot: any DatabaseReader,
        _ connection: PostgresSession
    ) async throws -> Int {
        let columns = try await snapshot.read { db in try db.columns(in: table).map(\.name) }
        let targetTypes = try Dictionary(
            uniqueKeysWithValues: await connection.rows(
                """
                SELECT column_name, data_type FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = \(table)
                """
            ).map { try $0.decode((String, String).self) })
        let targets = try columns.map { name -> (name: String, type: String) in
            guard let type = targetTypes[name] else { throw StoreCopyError.schemaOutOfStep(table: table, column: name) }
            return (name, type)
        }
        // PostgreSQL takes at most 65,535 parameters a statement.
        let batchSize = max(1, min(1_000, 30_000 / max(columns.count, 1)))
        let insert = "INSERT INTO \(table) (\(targets.map(\.name).joined(separator: ", "))) VALUES "
        let select =
            "SELECT rowid, * FROM \(table.quotedDatabaseIdentifier) WHERE rowid > ? ORDER BY rowid LIMIT \(batchSize)"
        var copied = 0
        var afterRowID = Int64.min
        while true {
            let after = afterRowID
            let batch: [(rowID: Int64, values: [DatabaseValue])] = try await snapshot.read { db in
                try Row.fetchAll(db, sql: select, arguments: [after]).map { row in
                    (row[0], (1...columns.count).map { row[$0] as DatabaseValue })
                }
            }
            guard let last = batch.last else { return copied }
            var bindings = PostgresBindings(capacity: batch.count * columns.count)
            var tuples: [String] = []
            tuples.reserveCapacity(batch.count)
            for (offset, row) in batch.enumerated() {
                let first = offset * columns.count
                tuples.append("(" + (1...columns.count).map { "$\(first + $0)" }.joined(separator: ", ") + ")")
                for (index, value) in row.values.enumerated() {
                    try bind(
                        value, as: targets[index].type, into: &bindings, table: table,
                        column: targets[index].name)
                }
            }
            try await connection.run(PostgresQuery(unsafeSQL: insert + tuples.joined(separator: ", "), binds: bindings))
            copied += batch.count
            afterRowID = last.rowID
        }
    }

    /// One SQLite value as the PostgreSQL column's type; a value that is not one says where it is.
    private static func bind(
        _ value: DatabaseValue, as type: String, into bindings: inout PostgresBindings, table: String, column: String
    ) throws {
        func unreadable(_ reason: String) -> StoreCopyError {
            .unreadableValue(table: table, column: column, value: "\(value)", reason: reason)
        }
        if value.isNull {
            bindings.appendNull()
            return
        }
        switch type {
        case "text":
            switch value.storage {
            case .string(let text): bindings.append(text)
            case .int64(let number): bindings.append(String(number))
            case .double(let number): bindings.append(String(number))
            case .blob, .null: throw unreadable("not text")
            }
        case "bigint":
            guard let number = Int64.fromDatabaseValue(value) else { throw unreadable("not a whole number") }
            bindings.append(number)
        case "integer":
            guard let number = Int64.fromDatabaseValue(value), let small = Int32(exactly: number) else {
                throw unreadable("not a whole number that fits 32 bits")
            }
            bindings.append(small)
        case "boolean":
            guard let flag = Bool.fromDatabaseValue(value) else { throw unreadable("not a flag (0 or 1)") }
            bindings.append(flag)
        case "timestamp with time zone":
            guard let time = Date.fromDatabaseValue(value) else { throw unreadable("not a date") }
            bindings.append(time)
        default:
            throw unreadable("the PostgreSQL column's type \(type) has no conversion")
        }
    }

    /// After rows with their own ids went in, the next id each table hands out is past them.
    private static func restartSequences(_ connection: PostgresSession) async throws {
        let serials = try await connection.rows(
            """
            SELECT table_name FROM information_schema.columns
            WHERE table_schema = 'public' AND column_name = 'id' AND column_default LIKE 'nextval(%'
            """
        ).map { try $0.decode(String.self) }
        for table in serials {
            try await connection.run(
                PostgresQuery(
                    unsafeSQL:
                        "SELECT setval(pg_get_serial_sequence('\(table)', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \(table)"
                ))
        }
    }
}

/// What a copy did, table by table.
public struct StoreCopyReport: Sendable, Equatable {
    public struct Table: Sendable, Equatable {
        public var name: String
        /// In the SQLite snapshot.
        public var sqliteRows: Int
        public var copiedRows: Int
        /// Counted in PostgreSQL after the copy, before the commit.
        public var postgresRows: Int

        var matches: Bool { sqliteRows == copiedRows && copiedRows == postgresRows }
    }

    public var tables: [Table]

    public var totalRows: Int { tables.reduce(0) { $0 + $1.postgresRows } }
}

public enum StoreCopyError: Error, CustomStringConvertible, Sendable {
    case targetNotEmpty(PostgresLocation, table: String, rows: Int)
    case unknownTables([String])
    case schemaOutOfStep(table: String, column: String)
    case unreadableValue(table: String, column: String, value: String, reason: String)
    case countsDiffer([StoreCopyReport.Table])
    case target(PostgresStoreError)

    public var exitStatus: ExitStatus {
        switch self {
        case .targetNotEmpty: .configurationError
        case .target(let error): error.exitStatus
        case .unknownTables, .schemaOutOfStep, .unreadableValue, .countsDiffer: .storeError
        }
    }

    public var description: String {
        switch self {
        case .targetNotEmpty(let location, let table, let rows):
            "the database \"\(location.database)\" on \(location.host):\(location.port) is not empty (\(table) has \(rows) row\(rows == 1 ? "" : "s")); store copy only fills an empty database, so nothing was copied. Create a new database (createdb) and copy into that."
        case .unknownTables(let tables):
            "the SQLite store has tables this newsletter does not know how to copy (\(tables.joined(separator: ", "))); nothing was copied. Use the newsletter that created them."
        case .schemaOutOfStep(let table, let column):
            "the PostgreSQL table \(table) has no column \(column) for the SQLite store's; nothing was copied. Run `newsletter store migrate` against the database with this newsletter."
        case .unreadableValue(let table, let column, let value, let reason):
            "the SQLite store's \(table).\(column) holds \(value.prefix(60)), \(reason); nothing was copied."
        case .countsDiffer(let tables):
            "the counts after the copy differ (\(tables.map { "\($0.name): \($0.sqliteRows) in SQLite, \($0.copiedRows) copied, \($0.postgresRows) in PostgreSQL" }.joined(separator: "; "))); the copy was rolled back, nothing was written."
        case .target(let error):
            "\(error)"
        }
    }
}
