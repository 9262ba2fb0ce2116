import Foundation

/// The row operations recording a bounce needs, all inside one transaction the caller holds.
/// Each store implements them (GRDB's `Database`, the PostgreSQL session); the workflow in
/// `BounceRows.recordBounce` is written once over them. Every operation is one statement, so
/// the protocol can turn `async` later with only an `await` added to the workflow.
protocol BounceRows: SubscriberRows, WebhookRows {
    /// When the copy of `week` went to the subscriber (the ledger's sent time), if it did.
    func sentAt(of week: IssueWeek, subscriberID: Int64) async throws -> Date?
    /// Stores the report with no effect yet and returns its id; nil when a report with the
    /// same key is already stored (two processes storing it at once: one of them inserts).
    func insertBounceEvent(_ bounce: BounceRecord, messageSentAt: Date) async throws -> Int64?
    /// The sent times of the copies that bounced softly for the subscriber.
    func softBounceTimes(subscriberID: Int64) async throws -> [Date]
    /// The last copy accepted for which no bounce of any address-related kind came back.
    func lastGoodDelivery(subscriberID: Int64) async throws -> Date?
    /// What storing the event did to the address, for the tally (`none` until set).
    func setBounceEffect(_ effect: String, ofEvent eventID: Int64) async throws
    /// One more permanent failure on the subscriber's record.
    func countPermanentFailure(subscriberID: Int64) async throws
}

extension BounceRows {
    /// Stores the report and applies the rule (`BounceRule.effect`). Shared with `recordFailed`,
    /// so a refusal at send time and a mailbox bounce take the same path.
    func recordBounce(_ bounce: BounceRecord, rule: BounceRule) async throws -> BounceRecordOutcome {
        var sentAt: Date?
        if let week = bounce.week, let id = bounce.subscriberID {
            sentAt = try await self.sentAt(of: week, subscriberID: id)
        }
        guard let eventID = try await insertBounceEvent(bounce, messageSentAt: sentAt ?? bounce.receivedAt) else {
            return .duplicate
        }
        guard let subscriberID = bounce.subscriberID else { return .recorded(.none) }

        var softBounces: [Date] = []
        var lastGood: Date?
        if bounce.kind == .soft {
            softBounces = try await softBounceTimes(subscriberID: subscriberID)
            lastGood = try await lastGoodDelivery(subscriberID: subscriberID)
        }
        let effect = rule.effect(
            of: bounce.kind, softBounces: softBounces, lastGoodDelivery: lastGood, now: bounce.receivedAt)
        var applied: String?
        switch effect {
        case .none: break
        case .markBounced(let reason):
            if try await setStatus(of: subscriberID, to: .bounced, from: [.confirmed, .pending]) {
                applied = "bounced: \(reason)"
            }
        case .unsubscribe:
            let stillSubscribed = Subscriber.Status.allCases.filter { $0 != .unsubscribed }
            if try await setStatus(of: subscriberID, to: .unsubscribed, from: stillSubscribed) {
                applied = "unsubscribed"
                try await recordConsent(
                    subscriberID: subscriberID, event: "unsubscribe",
                    client: ClientInfo(address: nil, userAgent: "complaint (feedback report)"), at: bounce.receivedAt,
                    detail: "complaint\(bounce.week.map { " about \($0)" } ?? ""): \(bounce.evidence.diagnostic ?? "")")
            }
        }
        if let applied { try await setBounceEffect(applied, ofEvent: eventID) }
        try await tellWebhooks(bounce, applied: applied)
        return .recorded(effect)
    }

    /// The events a recorded bounce makes, in its transaction: a complaint is told whatever it
    /// changed, a bounce only once it marks the address bounced.
    private func tellWebhooks(_ bounce: BounceRecord, applied: String?) async throws {
        guard let subscriberID = bounce.subscriberID else { return }
        let about = bounce.week.map { "\($0)" }
        if bounce.kind == .complaint {
            try await recordSubscriberEvent(
                .subscriberComplained, subscriberID: subscriberID, reason: about.map { "complaint about \($0)" },
                at: bounce.receivedAt)
        }
        if applied == "unsubscribed" {
            try await recordSubscriberEvent(
                .subscriberUnsubscribed, subscriberID: subscriberID, reason: "complaint", at: bounce.receivedAt)
        } else if let applied, applied.hasPrefix("bounced") {
            try await recordSubscriberEvent(
                .subscriberBounced, subscriberID: subscriberID, reason: String(applied.dropFirst("bounced: ".count)),
                at: bounce.receivedAt)
        }
    }

    /// The rest of recording a copy refused at send time, once the store has marked its ledger
    /// row failed (how it claims the row differs per store: leases on PostgreSQL).
    func recordRefusal(
        _ refusal: BounceEvidence, week: IssueWeek, subscriberID: Int64, rule: BounceRule, at time: Date
    ) async throws {
        try await countPermanentFailure(subscriberID: subscriberID)
        // What the refusal means for the address is the bounce rule's to say, as for a DSN.
        _ = try await recordBounce(
            BounceRecord(
                key: "smtp:\(week):\(subscriberID)", subscriberID: subscriberID, week: week,
                kind: BounceRule.classify(refusal), evidence: refusal, source: .smtp, receivedAt: time),
            rule: rule)
    }
}
