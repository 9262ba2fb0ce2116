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

    public func withWeekLock<T>(_ week: IssueWeek, _ body: (any WeekLockHold) async throws -> T) async throws -> T? {
        try await withAdvisoryLock(Self.weekLockKey(week), week: week, body)
    }

    public var admitsConcurrentSenders: Bool { true }

    public func withRunLock<T>(_ week: IssueWeek, dataDirectory: String, _ body: (any WeekLockHold) async throws -> T)
        async throws -> T?
    {
        try await withAdvisoryLock(Self.runLockKey, week: week, body)
    }

    private func withAdvisoryLock<T>(_ key: Int64, week: IssueWeek, _ body: (any WeekLockHold) async throws -> T)
        async throws
        -> T?
    {
        // A session-level advisory lock on a connection of its own, held for as long as `body`
        // runs; closing that session releases it however `body` ends (the process dying too).
        let connection = try await connectDirectly()
        let session = session(connection)
        // No pg_advisory_unlock: closing the session releases the lock, and an unlock sent on
        // a session the server already ended was seen to wait forever.
        do {
            let acquired =
                try await session.rows("SELECT pg_try_advisory_lock(\(key))").first?.decode(Bool.self) ?? false
            let result = acquired ? try await body(SessionLockHold(session: session, week: week, key: key)) : nil
            await Self.discard(connection)
            return result
        } catch {
            await Self.discard(connection)
            throw error
        }
    }

    /// Asks the lock's own session: a session that answers still holds its advisory locks
    /// (they end only with it), one that does not answer (or answers that it holds none) has
    /// lost the week.
    private struct SessionLockHold: WeekLockHold {
        let session: PostgresSession
        let week: IssueWeek
        let key: Int64

        func ensureHeld() async throws {
            guard !session.isClosed else { throw WeekLockLost(week: week, reason: "its database session ended") }
            let held: Bool
            do {
                let classID = Int64(UInt64(bitPattern: key) >> 32)
                let objectID = Int64(UInt64(bitPattern: key) & 0xFFFF_FFFF)
                held =
                    try await session.rows(
                        """
                        SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
                        AND granted AND classid::bigint = \(classID) AND objid::bigint = \(objectID) AND objsubid = 1
                        """
                    ).first?.decode(Bool.self) ?? false
            } catch {
                throw WeekLockLost(
                    week: week,
                    reason:
                        "its database session did not answer: \(PostgresStoreError(error, location: session.location))")
            }
            guard held else { throw WeekLockLost(week: week, reason: "its database session no longer holds it") }
        }
    }
}
