import Foundation

/// `send` and `run` share send.lock, so a hand-started send and the cron run never work the same
/// SQLite ledger at once: two overlapping senders would each take the other's in-flight rows for
/// a crashed run's and send them again. The run holds run.lock first and only ever tries
/// send.lock without waiting, and `send` never takes run.lock: no cycle, so no deadlock.
/// A shared database's senders claim rows under leases instead, any number at once.
public enum SendLock {
    public static func path(dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent("send.lock")
    }

    /// The lock, held while the returned value lives; nil when the store needs none.
    public static func take(for store: some NewsletterStore, path: String) throws(SendLockHeld) -> RunLock? {
        guard !store.admitsConcurrentSenders else { return nil }
        do {
            return try RunLock(path: path)
        } catch {
            throw SendLockHeld(failure: error)
        }
    }
}

/// Another send (or run) holds send.lock, or it could not be taken: exit status 75, try again.
public struct SendLockHeld: ExitStatusProviding, CustomStringConvertible {
    public var failure: RunLock.Failure
    public var description: String { "\(failure)" }
    public var exitStatus: ExitStatus { .busy }
}
