import Foundation

/// Where each recipient of an issue stands.
public enum DeliveryState: String, Codable, Sendable, CaseIterable {
    case pending
    /// Claimed by a running send; after a crash, a new run sends these again (they may have
    /// gone out: these are the only possible duplicates).
    case sending
    case sent
    /// A temporary failure (4xx, dropped connection, timeout) outlived its retries; the next run
    /// tries again.
    case deferred
    /// A permanent failure (5xx), with the server's reply.
    case failed
    /// The subscriber left (unsubscribed, bounced) before their copy went out, or no approved
    /// variant has a comparison in their topics (the reason is the row's last reply).
    case skipped
}

/// A recipient claimed for sending, with a fresh one-click unsubscribe token.
public struct DeliveryClaim: Sendable, Equatable {
    public var subscriber: Subscriber
    public var attempt: Int
    /// The plain token for this message's links; only its hash is stored.
    public var unsubscribeToken: String
    /// The subscriber's topic choice as stored (resolve it with today's aliases).
    public var topics: TopicChoice = .everything
    /// The random token of this copy's VERP envelope sender (`bounces+<token>@…`); only its
    /// hash is stored.
    public var envelopeToken: String = ""
}

/// The server's answer for one claimed row, recorded in groups by `recordDeliveries`.
public enum DeliveryRecord: Sendable, Equatable {
    /// Accepted (2xx, or transmitted whole and unconfirmed), by the relay named (nil: not said).
    case sent(subscriberID: Int64, messageID: String, reply: String, relay: String? = nil)
    /// A temporary failure that outlived its retries.
    case deferred(subscriberID: Int64, reply: String)

    public var subscriberID: Int64 {
        switch self {
        case .sent(let id, _, _, _), .deferred(let id, _): id
        }
    }

    /// The first outcome for each subscriber, in order. Recorded one by one, a later outcome
    /// for the same row would find it no longer `sending`; the stores record a group as one
    /// statement joined by subscriber, which would apply either, so they drop the later ones.
    static func firstPerSubscriber(_ records: [DeliveryRecord]) -> [DeliveryRecord] {
        var seen = Set<Int64>()
        return records.filter { seen.insert($0.subscriberID).inserted }
    }
}

/// The per-(issue, subscriber) ledger that makes sending resumable and never twice.
public protocol DeliveryLedger: ListSendQuota {
    /// Adds a pending row for every confirmed subscriber not yet in the week's ledger (unless
    /// `addSubscribers` is false: an issue already sent does not go to people who joined since),
    /// and turns rows left `sending` by a crashed run back into `pending`.
    func prepareDelivery(_ week: IssueWeek, addSubscribers: Bool) async throws -> (added: Int, resumed: Int)
    /// Claims up to `limit` pending rows, and deferred rows last touched before `runStarted` (a
    /// run does not retry what it deferred itself), marking them `sending`; rows of subscribers
    /// who are no longer confirmed become `skipped`.
    func claimDeliveries(_ week: IssueWeek, limit: Int, runStarted: Date) async throws -> [DeliveryClaim]
    func recordSent(_ week: IssueWeek, subscriberID: Int64, messageID: String, reply: String) async throws
    func recordDeferred(_ week: IssueWeek, subscriberID: Int64, reply: String) async throws
    /// Records several rows' outcomes, as `recordSent` and `recordDeferred` would, in one
    /// transaction: all or none. (The default records them one by one.)
    func recordDeliveries(_ week: IssueWeek, _ records: [DeliveryRecord]) async throws
    /// Records a permanent failure, and the refusal as a bounce under `rule` (the same rule as
    /// the bounce mailbox's), in one transaction.
    func recordFailed(
        _ week: IssueWeek, subscriberID: Int64, reply: String, refusal: BounceEvidence, rule: BounceRule, at time: Date
    ) async throws
    /// Puts claimed rows back to `pending` (a run that stops early).
    func releaseClaims(_ week: IssueWeek, subscriberIDs: [Int64]) async throws
    /// A claimed row whose subscriber gets no copy of this issue, and why (e.g. no comparison
    /// in their topics).
    func recordSkipped(_ week: IssueWeek, subscriberID: Int64, reason: String) async throws
    /// Throws `LeaseExpired` when this process can no longer be sure its claims are its own
    /// (on a shared database: its lease ran out while it was stopped or stalled, so another
    /// sender may have taken them). Asked before each message goes on the wire; no round trip.
    func ensureClaimsHeld(_ week: IssueWeek) async throws
    /// The send of `week` by this process is over (done, or stopped): it holds no rows any more,
    /// and other senders (and `status`) stop counting it.
    func finishDelivery(_ week: IssueWeek) async throws
    func deliveryCounts(_ week: IssueWeek) async throws -> [DeliveryState: Int]
    /// Whether several processes may send one week at once (a shared database whose senders
    /// claim rows under leases). When false, `send` and `run` take the data directory's
    /// send.lock, so one process at a time works the ledger.
    var admitsConcurrentSenders: Bool { get }
    /// The processes sending `week` now, with what each claimed and sent (for `status`, and for
    /// a sender that finished while others still work); empty where one process at a time sends.
    func liveSenders(_ week: IssueWeek, at time: Date) async throws -> [SenderStatus]
    func deliveryReplies(_ week: IssueWeek, state: DeliveryState) async throws -> [(email: String, reply: String)]
    /// Runs `body`, one of a send's tasks, with the calls it makes to the ledger on one
    /// connection held throughout, where the store has a pool of them (PostgreSQL); the default
    /// just runs it.
    func withConnectionHeld<T, Failure: Error>(_ body: () async throws(Failure) -> T) async throws(Failure) -> T
}

extension DeliveryLedger {
    public func withConnectionHeld<T, Failure: Error>(_ body: () async throws(Failure) -> T) async throws(Failure)
        -> T
    {
        try await body()
    }

    public func recordDeliveries(_ week: IssueWeek, _ records: [DeliveryRecord]) async throws {
        for record in records {
            switch record {
            case .sent(let id, let messageID, let reply, _):
                try await recordSent(week, subscriberID: id, messageID: messageID, reply: reply)
            case .deferred(let id, let reply): try await recordDeferred(week, subscriberID: id, reply: reply)
            }
        }
    }
}

/// This sender went longer than its lease without renewing it (the process was stopped, the
/// host hung): the recipients it had claimed may be another sender's now, so it sends nothing
/// more. Those still unsent go back to the queue (or already went, to the sender that took them).
public struct LeaseExpired: Error, CustomStringConvertible, Sendable {
    public var silentFor: Duration
    public var lease: TimeInterval

    public init(silentFor: Duration, lease: TimeInterval) {
        self.silentFor = silentFor
        self.lease = lease
    }

    public var description: String {
        String(
            format:
                "this sender's lease on its recipients ran out (%.0f s without renewing it, lease_seconds is %.0f: the process was stopped or stalled); another sender may have them now, so this one sent nothing more. Run `newsletter status` to see the senders still at work.",
            silentFor.seconds, lease)
    }
}
