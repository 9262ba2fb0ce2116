import Foundation

/// Who gets an issue: the core's rule, which every store applies (none spells it in SQL of its
/// own). A subscriber paused or not confirmed gets nothing.
public enum DeliveryEligibility {
    public static let statuses: [Subscriber.Status] = [.confirmed]
    public static let includesPaused = false

    public static func isEligible(_ subscriber: Subscriber) -> Bool {
        statuses.contains(subscriber.status) && (includesPaused || !subscriber.paused)
    }
}

/// One sending process, as the other senders and `status` see it.
public struct SenderIdentity: Sendable, Equatable {
    public var id: UUID
    public var host: String
    public var pid: Int32

    public init(id: UUID = UUID(), host: String = ProcessInfo.processInfo.hostName, pid: Int32 = getpid()) {
        self.id = id
        self.host = host
        self.pid = pid
    }
}

/// A sender that is alive: its lease on the rows it claimed ends at `leaseDeadline` unless it
/// renews it.
public struct SenderStatus: Sendable, Equatable {
    public var sender: SenderIdentity
    public var week: IssueWeek
    public var startedAt: Date
    public var leaseDeadline: Date
    public var claimed: Int
    public var sent: Int
}

/// A ledger row claimed under a lease.
public struct LeasedDelivery: Sendable, Equatable {
    public var subscriberID: Int64
    public var attempt: Int
}

/// The week's ledger shared by any number of senders on any number of hosts. Each claims a
/// batch of rows under a lease (its id and a deadline), renews the lease while it works, and
/// records each recipient only while the row is still its own: a sender that stalled past its
/// deadline (its rows went to another) records nothing over the new owner. Rows whose lease ran
/// out go back to the queue, so a sender that died loses no one; what may go out twice is only
/// what it had in flight.
///
/// Times are the caller's (its `TimeSource`), so tests move them; senders on several hosts
/// need their clocks in step (NTP) to within a small part of the lease.
public protocol DeliveryLeaseQueue: Sendable {
    /// Adds a pending row for every eligible subscriber not yet in the week's ledger.
    func enqueueEligible(_ week: IssueWeek, at time: Date) throws -> Int
    /// Registers (or refreshes) the sender, with its lease ending at `time + lease`.
    func registerSender(_ sender: SenderIdentity, week: IssueWeek, at time: Date, lease: TimeInterval) throws
    /// Claims up to `limit` rows nobody holds: pending ones, and `sending` ones whose lease ran
    /// out. Concurrent senders never get the same row.
    func claim(_ week: IssueWeek, sender: SenderIdentity, limit: Int, at time: Date, lease: TimeInterval) throws
        -> [LeasedDelivery]
    /// Moves the deadline of the sender and of every row it still holds; returns how many rows.
    func renewLease(_ week: IssueWeek, sender: SenderIdentity, at time: Date, lease: TimeInterval) throws -> Int
    /// Records a row sent; false (and nothing written) when the row is no longer this sender's.
    func recordSent(
        _ week: IssueWeek, subscriberID: Int64, sender: SenderIdentity, messageID: String, reply: String, at time: Date
    ) throws -> Bool
    /// Puts the sender's unsent rows back to `pending` and forgets the sender (a clean stop).
    func releaseSender(_ sender: SenderIdentity, week: IssueWeek, at time: Date) throws -> Int
    /// The senders whose lease has not run out at `time`.
    func liveSenders(_ week: IssueWeek, at time: Date) throws -> [SenderStatus]
}
