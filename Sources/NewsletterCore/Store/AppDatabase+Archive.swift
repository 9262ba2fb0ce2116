import Foundation
import GRDB

extension AppDatabase {
    /// `v10-archive`: an editor may hide a sent issue from the public archive.
    static func migrateArchive(_ db: Database) throws {
        try db.alter(table: "issue") { t in t.add(column: "hiddenFromArchive", .boolean).notNull().defaults(to: false) }
    }
}

extension AppDatabase: ArchiveStore {
    public func sentIssues() async throws -> [IssueRecord] {
        try await listIssues().filter { $0.status == IssueLifecycle.archivedStatus }
    }

    public func setHiddenFromArchive(_ week: IssueWeek, hidden: Bool) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE issue SET hiddenFromArchive = ? WHERE week = ? AND status = ?",
                arguments: [hidden, week.description, IssueLifecycle.archivedStatus.rawValue])
            return db.changesCount > 0
        }
    }
}
