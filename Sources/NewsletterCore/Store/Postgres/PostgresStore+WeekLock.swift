import Foundation
import NIOCore
import PostgresNIO

extension PostgresStore: WeekDecisionLock {
    /// "news" in the high half, the ISO week (yyyyww) in the low half: one lock per week,
    /// apart from the schema's.
    static func weekLockKey(_ week: IssueWeek) -> Int64 {
        Int64(0x6E65_7773) << 32 | Int64(week.year * 100 + week.week)
    }

    /// The one lock every `newsletter run` on this database takes, as run.lock is for a data
    /// directory: "news" in the high half, 0 (no week) in the low half.
    static let runLockKey = Int64(0x6E65_7773) << 32

    public func withWeekLock<T>(_ week: IssueWeek, _ body: (any WeekLockHold) throws -> T) throws -> T? {
        try withAdvisoryLock(Self.weekLockKey(week), week: week, body)
    }

    public var admitsConcurrentSenders: Bool { true }

    public func withRunLock<T>(_ week: IssueWeek, dataDirectory: String, _ body: (any WeekLockHold) async throws -> T)
        async throws -> T?
    {
        guard let lock = try takeAdvisoryLock(Self.runLockKey, week: week) else { return nil }
        defer { Self.discard(lock.connection) }
        return try await body(lock.hold)
    }

    private func withAdvisoryLock<T>(_ key: Int64, week: IssueWeek, _ body: (any WeekLockHold) throws -> T) throws
        -> T?
    {
        guard let lock = try takeAdvisoryLock(key, week: week) else { return nil }
        defer { Self.discard(lock.connection) }
        return try body(lock.hold)
    }

    /// A session-level advisory lock on a connection of its own, held until the caller discards
    /// that connection: closing the session releases it however the holder ends (the process
    /// dying too). No pg_advisory_unlock: an unlock sent on a session the server already ended
    /// was seen to wait forever. Nil when another session holds the lock.
    private func takeAdvisoryLock(_ key: Int64, week: IssueWeek) throws -> (
        connection: PostgresConnection, hold: SessionLockHold
    )? {
        let connection = try connectForLock()
        let session = session(connection)
        let acquired: Bool
        do {
            acquired = try session.rows("SELECT pg_try_advisory_lock(\(key))").first?.decode(Bool.self) ?? false
        } catch {
            Self.discard(connection)
            throw error
        }
        guard acquired else {
            Self.discard(connection)
            return nil
        }
        return (connection, SessionLockHold(session: session, week: week, key: key))
    }

    /// Asks the lock's own session: a session that answers still holds its advisory locks
    /// (they end only with it), one that does not answer (or answers that it holds none) has
    /// lost the week.
    private struct SessionLockHold: WeekLockHold {
        let session: PostgresSession
        let week: IssueWeek
        let key: Int64

        func ensureHeld() throws {
            guard !session.isClosed else { throw WeekLockLost(week: week, reason: "its database session ended") }
            let held: Bool
            do {
                let classID = Int64(UInt64(bitPattern: key) >> 32)
                let objectID = Int64(UInt64(bitPattern: key) & 0xFFFF_FFFF)
                held =
                    try session.rows(
                        """
                        SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                        AND granted AND classid::bigint = \(classID) AND objid::bigint = \(objectID) AND objsubid = 1
                        """
                    ).first?.decode(Bool.self) ?? false
            } catch {
                throw WeekLockLost(week: week, reason: "its database session did not answer: \(PostgresStoreError(error, location: session.location))")
            }
            guard held else { throw WeekLockLost(week: week, reason: "its database session no longer holds it") }
        }
    }
}
