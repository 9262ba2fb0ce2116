import Foundation
import GRDB

extension AppDatabase {
    public func recordSkipped(_ week: IssueWeek, subscriberID: Int64, reason: String) async throws {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE delivery SET state = 'skipped', lastReply = ?, updatedAt = ?
                    WHERE week = ? AND subscriberId = ? AND state = 'sending'
                    """, arguments: [reason, self.clock.now(), week.description, subscriberID])
        }
    }
}
