import Foundation
import Testing

@testable import NewsletterCore

/// NewsletterStore's own methods (beyond its parts), which both backends have but only the
/// SQLite store declares through NewsletterStore so far; the contract suites call them
/// through this until PostgresStore conforms to NewsletterStore.
protocol NewsletterStoreExtras: Sendable {
    func importSubscriber(email: String, name: String?, topics: TopicChoice?, source: String, at time: Date) throws
        -> Bool
    func topicChoices(subscriberIDs: [Int64]) throws -> [Int64: TopicChoice]
    func removeSummaryOverride(week: IssueWeek, comparisonID: Int64) throws -> Bool
}

extension AppDatabase: NewsletterStoreExtras {}
extension PostgresStore: NewsletterStoreExtras {}

/// What a contract test needs to set up or look at beyond the protocol it tests: a week's
/// ledger row in a given state, a subscriber's consent trail. Through the real ledger where the
/// store has one; the PostgreSQL store's ledger methods are not in this branch, so there the
/// row is written as its schema holds it.
enum StoreProbe {
    /// Puts `subscriberID`'s row of the week's ledger into `state` (the subscriber confirmed,
    /// and the only one without a row of this week).
    static func deliver(_ state: DeliveryState, week: IssueWeek, subscriberID: Int64, in store: any ContractStore)
        throws
    {
        if let ledger = store as? any DeliveryLedger {
            _ = try ledger.prepareDelivery(week, addSubscribers: true)
            guard state != .pending else { return }
            let claims = try ledger.claimDeliveries(week, limit: 1, runStarted: Date())
            try #require(claims.map(\.subscriber.id) == [subscriberID])
            switch state {
            case .pending, .sending: break
            case .sent: try ledger.recordSent(week, subscriberID: subscriberID, messageID: "<m@x>", reply: "250 ok")
            case .deferred: try ledger.recordDeferred(week, subscriberID: subscriberID, reply: "451 later")
            case .failed:
                let reply = "550 5.1.1 User unknown"
                try ledger.recordFailed(
                    week, subscriberID: subscriberID, reply: reply, refusal: BounceEvidence(smtpReply: reply),
                    rule: BounceRule(), at: Date())
            case .skipped: try ledger.recordSkipped(week, subscriberID: subscriberID, reason: "no topic")
            }
        } else if let postgres = store as? PostgresStore {
            _ = try postgres.transaction { connection in
                try connection.run(
                    """
                    INSERT INTO delivery (week, subscriber_id, state, attempts, updated_at)
                    VALUES (\(week.description), \(subscriberID), \(state.rawValue), 1, now())
                    """)
            }
        } else {
            Issue.record("no way to write a ledger row in \(type(of: store))")
        }
    }

    /// The subscriber's consent trail as "event: detail" lines, oldest first (read by each
    /// store's own means: no protocol reads it yet).
    static func consentTrail(_ subscriberID: Int64, in store: any ContractStore) throws -> [String] {
        if let sqlite = store as? AppDatabase {
            return try sqlite.consentRecords(subscriberID: subscriberID).map { "\($0.event): \($0.detail ?? "-")" }
        }
        if let postgres = store as? PostgresStore {
            return try postgres.read { connection in
                try connection.rows(
                    "SELECT event, detail FROM consent WHERE subscriber_id = \(subscriberID) ORDER BY id"
                ).map {
                    let (event, detail) = try $0.decode((String, String?).self)
                    return "\(event): \(detail ?? "-")"
                }
            }
        }
        Issue.record("no way to read the consent trail of \(type(of: store))")
        return []
    }
}
