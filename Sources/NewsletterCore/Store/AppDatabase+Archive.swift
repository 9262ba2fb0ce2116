import Foundation
import GRDB

extension AppDatabase {
}

extension AppDatabase: ArchiveStore {
    public func sentIssues() async throws -> [IssueRecord] {
        try await listIssues().filter { $0.status == IssueLifecycle.archivedStatus }
    }

    public func setHiddenFromArchive(_ week: IssueWeek, hidden: Bool) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: "UPDATE issue SET hidden_from_archive = ? WHERE week = ? AND status = ?",
                arguments: [hidden, week.description, IssueLifecycle.archivedStatus.rawValue])
            return db.changesCount > 0
        }
    }
}
