import Foundation

/// The lock the week's decisions (build the draft, approve under auto, mail the editors, start
/// sending) are taken under, so two `newsletter run`s at the same minute, on two hosts, decide
/// once. On the SQLite store the data directory's `run.lock` (a flock) is that lock; on a shared
/// database it must live in the database.
public protocol WeekDecisionLock: Sendable {
    /// Runs `body` holding the week's lock, or returns nil at once when another process holds
    /// it. A holder that dies (its connection ends) loses the lock, so nobody waits on a corpse;
    /// `body` asks its `WeekLockHold` before each decision whether it still holds it.
    func withWeekLock<T>(_ week: IssueWeek, _ body: (any WeekLockHold) async throws -> T) async throws -> T?
}

/// The holder's side of the week's lock. A lock in a database is held by a session, and a
/// session can end under the holder (a server restart, a dropped connection, an administrator):
/// from then on another process may take the week, so the holder must stop deciding.
public protocol WeekLockHold: Sendable {
    /// Returns when the lock is still held; throws `WeekLockLost` when it is not.
    func ensureHeld() async throws
}

/// The week's lock went with its database session: another process may be deciding the week
/// now. Nothing more was decided by this one; run again to see where the week stands.
public struct WeekLockLost: Error, CustomStringConvertible, Sendable {
    public var week: IssueWeek
    public var reason: String

    public init(week: IssueWeek, reason: String) {
        self.week = week
        self.reason = reason
    }

    public var description: String {
        "the lock on \(week)'s decisions was lost (\(reason)); another run may hold it now, so this one decided nothing more. Run `newsletter status` to see where the week stands."
    }
}
