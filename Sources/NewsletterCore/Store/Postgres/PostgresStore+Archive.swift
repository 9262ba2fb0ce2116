import Foundation
import PostgresNIO

/// The public archive's view of the issues in PostgreSQL, as the SQLite store gives it.
extension PostgresStore: ArchiveStore {
    public func sentIssues() throws -> [IssueRecord] {
        try read { connection in
            try connection.rows(
                #"""
                SELECT week FROM issue WHERE status = \#(IssueLifecycle.archivedStatus.rawValue)
                ORDER BY week COLLATE "C" DESC
                """#
            ).compactMap { row in
                try connection.storedIssue(try IssueWeek(parsing: try row.decode(String.self)))
            }
        }
    }

    public func setHiddenFromArchive(_ week: IssueWeek, hidden: Bool) throws -> Bool {
        try transaction { connection in
            try Self.lockWeek(week, connection)
            return try connection.run(
                """
                UPDATE issue SET hidden_from_archive = \(hidden)
                WHERE week = \(week.description) AND status = \(IssueLifecycle.archivedStatus.rawValue)
                """) > 0
        }
    }
}
