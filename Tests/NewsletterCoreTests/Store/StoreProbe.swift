import Foundation
import Testing

@testable import NewsletterCore

/// What a contract test needs to set up or look at beyond the protocol it tests: a week's
/// ledger row in a given state (through the real ledger), a subscriber's consent trail.
enum StoreProbe {
    /// Puts `subscriberID`'s row of the week's ledger into `state` (the subscriber confirmed,
    /// and the only one without a row of this week).
    static func deliver(_ state: DeliveryState, week: IssueWeek, subscriberID: Int64, in store: any ContractStore)
        async throws
    {
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        guard state != .pending else { return }
        let claims = try await store.claimDeliveries(week, limit: 1, runStarted: Date())
        try #require(claims.map(\.subscriber.id) == [subscriberID])
        switch state {
        case .pending, .sending: break
        case .sent: try await store.recordSent(week, subscriberID: subscriberID, messageID: "<m@x>", reply: "250 ok")
        case .deferred: try await store.recordDeferred(week, subscriberID: subscriberID, reply: "451 later")
        case .failed:
            let reply = "550 5.1.1 User unknown"
            try await store.recordFailed(
                week, subscriberID: subscriberID, reply: reply, refusal: BounceEvidence(smtpReply: reply),
                rule: BounceRule(), at: Date())
        case .skipped: try await store.recordSkipped(week, subscriberID: subscriberID, reason: "no topic")
        }
    }

    /// The subscriber's consent trail as "event: detail" lines, oldest first (read by each
    /// store's own means: no protocol reads it yet).
    static func consentTrail(_ subscriberID: Int64, in store: any ContractStore) async throws -> [String] {
        if let sqlite = store as? AppDatabase {
            return try await sqlite.consentRecords(subscriberID: subscriberID).map {
                "\($0.event): \($0.detail ?? "-")"
            }
        }
        if let postgres = store as? PostgresStore {
            return try await postgres.read { connection in
                try await connection.rows(
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
