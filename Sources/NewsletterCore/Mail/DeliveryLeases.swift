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
