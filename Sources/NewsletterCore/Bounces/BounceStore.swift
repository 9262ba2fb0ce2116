import Foundation

/// Where a bounce came from.
public enum BounceSource: String, Sendable, Codable {
    /// `bounces fetch` (IMAP or POP3).
    case mailbox
    /// `bounces import FILE`.
    case file
    /// A 5xx to RCPT or DATA during `send`.
    case smtp
    /// `POST /webhooks/bounces` from a relay.
    case webhook
}

/// A bounce, complaint or auto-reply about one subscriber, ready to be stored.
public struct BounceRecord: Sendable, Equatable {
    /// Unique per report and recipient: a second copy of the same report changes nothing.
    public var key: String
    /// nil only for kinds that do nothing to anyone (an auto-reply we cannot place).
    public var subscriberID: Int64?
    /// The issue that bounced, when known (VERP, the original's Message-ID, the last issue sent).
    public var week: IssueWeek?
    public var kind: BounceKind
    public var evidence: BounceEvidence
    public var source: BounceSource
    public var receivedAt: Date

    public init(
        key: String, subscriberID: Int64?, week: IssueWeek?, kind: BounceKind, evidence: BounceEvidence,
        source: BounceSource, receivedAt: Date
    ) {
        self.key = key
        self.subscriberID = subscriberID
        self.week = week
        self.kind = kind
        self.evidence = evidence
        self.source = source
        self.receivedAt = receivedAt
    }
}

public enum BounceRecordOutcome: Sendable, Equatable {
    case recorded(BounceEffect)
    /// Stored before (the same report fetched again): nothing counted twice.
    case duplicate
}

/// What was learnt about one issue (or, with no week, about all of them).
public struct BounceTally: Sendable, Equatable, Codable {
    public var hard = 0
    public var soft = 0
    public var policy = 0
    public var autoReplies = 0
    public var complaints = 0
    /// Subscribers marked bounced and unsubscribed by these reports.
    public var markedBounced = 0
    public var unsubscribed = 0
    /// Copies of the issue the server accepted: the complaint rate's denominator.
    public var delivered = 0

    public init() {}

    /// Complaints per delivered copy; nil before anything was delivered.
    public var complaintRate: Double? { delivered > 0 ? Double(complaints) / Double(delivered) : nil }
    public var complaintRateTooHigh: Bool { (complaintRate ?? 0) >= BounceRule.complaintRateThreshold }

    /// `3 hard, 2 soft, 1 policy, 4 auto-replies ignored, 1 complaint (0.10 % of 1000, limit 0.3 %)`.
    public var summary: String {
        var text =
            "\(hard) hard, \(soft) soft, \(policy) policy, \(autoReplies) auto-repl\(autoReplies == 1 ? "y" : "ies") ignored, \(complaints) complaint\(complaints == 1 ? "" : "s")"
        if let rate = complaintRate {
            text += String(format: " (%.2f %% of %d delivered; limit 0.3 %%)", rate * 100, delivered)
        }
        return text
    }
}

/// The store side of bounce handling, declared where it is used.
public protocol BounceStore: Sendable {
    /// The (week, subscriber) a VERP token was issued for.
    func verpRecipient(token: String) async throws -> (week: IssueWeek, subscriberID: Int64)?
    /// The (week, subscriber) of the copy with this Message-ID.
    func delivery(messageID: String) async throws -> (week: IssueWeek, subscriberID: Int64)?
    func subscriber(email: String) async throws -> Subscriber?
    func subscriber(id: Int64) async throws -> Subscriber?
    /// The latest issue accepted for this subscriber at or before `time`.
    func lastDeliveredWeek(subscriberID: Int64, before time: Date) async throws -> IssueWeek?
    /// Stores the bounce and applies `rule` to the subscriber, in one transaction; a key
    /// stored before changes nothing.
    func recordBounce(_ bounce: BounceRecord, rule: BounceRule) async throws -> BounceRecordOutcome
    func bounceTally(_ week: IssueWeek?) async throws -> BounceTally
    /// The latest reports, newest first.
    func recentBounces(_ week: IssueWeek?, limit: Int) async throws -> [StoredBounce]
}

/// A stored report, for `bounces list`.
public struct StoredBounce: Sendable, Equatable, Codable {
    public var email: String?
    public var week: String?
    public var kind: BounceKind
    public var status: String?
    public var diagnostic: String?
    public var source: BounceSource
    public var effect: String
    public var receivedAt: Date
}
