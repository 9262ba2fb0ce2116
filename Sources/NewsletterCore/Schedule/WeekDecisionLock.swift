import Foundation

/// The lock the week's decisions (build the draft, approve under auto, mail the editors, start
/// sending) are taken under, so two `newsletter run`s at the same minute, on two hosts, decide
/// once. On the SQLite store the data directory's `run.lock` (a flock) is that lock; on a shared
/// database it must live in the database.
public protocol WeekDecisionLock: Sendable {
    /// Runs `body` holding the week's lock, or returns nil at once when another process holds
    /// it. A holder that dies (its connection ends) loses the lock, so nobody waits on a corpse.
    func withWeekLock<T>(_ week: IssueWeek, _ body: () throws -> T) throws -> T?
}
