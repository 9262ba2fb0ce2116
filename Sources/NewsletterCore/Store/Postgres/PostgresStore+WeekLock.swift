import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore: WeekDecisionLock {
    /// "news" in the high half, the ISO week (yyyyww) in the low half: one lock per week,
    /// apart from the schema's.
    static func weekLockKey(_ week: IssueWeek) -> Int64 {
        Int64(0x6E65_7773) << 32 | Int64(week.year * 100 + week.week)
    }

    public func withWeekLock<T>(_ week: IssueWeek, _ body: () throws -> T) throws -> T? {
        // A session-level advisory lock on a connection of its own, held for as long as `body`
        // runs; closing that session releases it however `body` ends.
        let connection = try connectForLock()
        defer { Self.discard(connection) }
        let key = Self.weekLockKey(week)
        let acquired = try connection.rows("SELECT pg_try_advisory_lock(\(key))").first?.decode(Bool.self) ?? false
        guard acquired else { return nil }
        // No pg_advisory_unlock: closing the session (the defer above) releases the lock, and
        // an unlock sent on a session the server already ended was seen to wait forever.
        return try body()
    }
}
