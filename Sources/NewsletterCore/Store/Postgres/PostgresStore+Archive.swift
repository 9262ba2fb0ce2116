import Foundation
import PostgresNIO

/// The public archive's view of the issues in PostgreSQL, as the SQLite store gives it.
extension PostgresStore: ArchiveStore {
    public func sentIssues() async throws -> [IssueRecord] {
        try await read { connection in
            try await connection.storedIssues(
                weeks: #"""
                    SELECT week FROM issue WHERE status = \#(IssueLifecycle.archivedStatus.rawValue)
                    ORDER BY week COLLATE "C" DESC
                    """#)
        }
    }

    public func setHiddenFromArchive(_ week: IssueWeek, hidden: Bool) async throws -> Bool {
        try await transaction { connection in
            try await Self.lockWeek(week, connection)
            return try await connection.run(
                """
                UPDATE issue SET hidden_from_archive = \(hidden)
                WHERE week = \(week.description) AND status = \(IssueLifecycle.archivedStatus.rawValue)
                """) > 0
        }
    }
}
