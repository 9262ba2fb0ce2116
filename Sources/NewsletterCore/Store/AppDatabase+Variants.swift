import Foundation
import GRDB

extension AppDatabase {
    public func recordSkipped(_ week: IssueWeek, subscriberID: Int64, reason: String) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE delivery SET state = 'skipped', last_reply = ?, updated_at = ?
                    WHERE week = ? AND subscriber_id = ? AND state = 'sending'
                    """, arguments: [reason, self.clock.now(), week.description, subscriberID])
        }
    }
}
