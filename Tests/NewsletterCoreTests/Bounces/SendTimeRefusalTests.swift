import Foundation
import Logging
import NewsletterCore
import Testing

/// A refusal at send time goes through the same rule as a bounce from the mailbox.
@Suite(.serialized) struct SendTimeRefusalTests {
    let week = try! IssueWeek(parsing: "2026-W47")

    func store(subscribers: Int) async throws -> AppDatabase {
        let store = try AppDatabase.inMemory()
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "s", html: "<p>x</p>", text: "x\n", manifest: "{}", comparisonIDs: [], hash: "h"))
        try await store.approve(week, hash: "h", at: Date())
        for index in 0..<subscribers {
            _ = try await store.addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed)
        }
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        return store
    }

    @Test func aUserUnknownAtRCPTIsAHardBounceAtOnceAndAPolicyRefusalBlamesNoOne() async throws {
        let store = try await store(subscribers: 3)
        let claims = try await store.claimDeliveries(week, limit: 3, runStarted: Date())
        #expect(claims.allSatisfy { $0.envelopeToken.count == 32 })
        let rule = BounceRule(softBounceLimit: 3)
        let replies = [
            "550 5.1.1 <reader0@example.org>: Recipient address rejected: User unknown",
            "554 5.7.1 Service unavailable; client host blocked using a blocklist",
            "552 5.2.2 Mailbox full",
        ]
        for (claim, reply) in zip(claims, replies) {
            try await store.recordFailed(
                week, subscriberID: claim.subscriber.id, reply: reply, refusal: BounceEvidence(smtpReply: reply),
                rule: rule,
                at: Date())
        }
        await #expect(try store.subscriber(email: "reader0@example.org")?.status == .bounced)
        await #expect(try store.subscriber(email: "reader1@example.org")?.status == .confirmed)
        await #expect(try store.subscriber(email: "reader2@example.org")?.status == .confirmed)
        let tally = try await store.bounceTally(week)
        #expect(tally.hard == 1 && tally.policy == 1 && tally.soft == 1)
        await #expect(try store.deliveryCounts(week)[.failed] == 3)
        await #expect(try store.recentBounces(week, limit: 10).allSatisfy { $0.source == .smtp })
    }

    @Test(.enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
    func refusalsDuringSendAreRecordedAsBounces() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let store = try AppDatabase.open(path: directory.appendingPathComponent("n.sqlite").path)
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "s", html: "<p>x</p>", text: "x\n", manifest: "{}", comparisonIDs: [], hash: "h"))
        try await store.approve(week, hash: "h", at: Date())
        for index in 0..<2 {
            _ = try await store.addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed)
        }
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "l.example", publicURL: "https://n.example")
        settings.verp = VERPAddress(base: try MailAddress("bounces@shiporskip.example"))
        settings.bounceAfter = 2
        let sink = try SMTPSink(faults: ["-f", "RCPT"])  // 5xx with no specific status: soft
        _ = try await Mailer(store: store, settings: settings, logger: Logger(label: "tests")).send(
            week, through: SMTPTransport(settings: SMTPTransport.Settings(url: sink.url, allowPlaintext: true)))
        let tally = try await store.bounceTally(week)
        #expect(tally.soft + tally.hard == 2)
        await #expect(try store.recentBounces(week, limit: 10).count == 2)
    }
}
