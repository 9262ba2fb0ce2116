import Foundation
import Logging
import Synchronization
import Testing

@testable import NewsletterCore

/// Outcomes recorded in groups (issue 16), with the same crash window as one commit per message.
@Suite(.serialized)
struct LedgerCommitterTests {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
        try store.saveDraft(
            IssueDraft(
                week: week, subject: "Ship or Skip", html: "<p>%%GREETING%%</p>",
                text: "%%GREETING%%\nUnsubscribe: %%UNSUBSCRIBE_URL%%\n", manifest: "{}", comparisonIDs: [],
                hash: "h1"))
        try store.approve(week, hash: "h1", at: Date())
    }

    /// A peer that, before taking each message, checks that the ledger already shows every earlier
    /// message of the same connection as recorded (sent or deferred): what a kill at that moment could duplicate is only
    /// the message on the wire.
    final class CheckingTransport: MailTransport {
        let store: AppDatabase
        let week: IssueWeek
        let violations = Mutex<[String]>([])
        let accepted = Mutex(0)
        var name: String { "checking" }

        init(store: AppDatabase, week: IssueWeek) {
            self.store = store
            self.week = week
        }

        func makeSession() throws(TransportUnavailable) -> any MailSession { Session(transport: self) }

        final class Session: MailSession {
            let transport: CheckingTransport
            var earlier: [String] = []
            init(transport: CheckingTransport) { self.transport = transport }

            func send(_ message: [UInt8], from: String, to: String, reference: String) throws(TransportUnavailable)
                -> SendOutcome
            {
                let recorded = [DeliveryState.sent, .deferred].flatMap { state in
                    ((try? transport.store.deliveryReplies(transport.week, state: state)) ?? []).map(\.email)
                }
                let sent = Set(recorded)
                let unrecorded = earlier.filter { !sent.contains($0) }
                if !unrecorded.isEmpty {
                    transport.violations.withLock { $0.append("\(to) sent while \(unrecorded) unrecorded") }
                }
                earlier.append(to)
                transport.accepted.withLock { $0 += 1 }
                // Every fifth recipient is deferred, so both kinds of outcome go through the groups.
                return reference.hasSuffix("5") ? .transient(reply: "451 try later") : .sent(reply: "250 ok")
            }

            func close() {}
        }
    }

    @Test func aConnectionSendsItsNextMessageOnlyOnceItsLastOutcomeIsRecorded() throws {
        for index in 0..<120 {
            _ = try store.addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed)
        }
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.example", publicURL: "https://n.example")
        settings.concurrency = 4
        settings.batchSize = 5
        settings.retries = 0
        let transport = CheckingTransport(store: store, week: week)
        let summary = try Mailer(store: store, settings: settings, logger: Logger(label: "tests")).send(
            week, through: transport)
        #expect(transport.violations.withLock { $0 }.isEmpty)
        #expect(transport.accepted.withLock { $0 } == 120)
        let counts = try store.deliveryCounts(week)
        #expect(summary.sent + summary.deferred == 120)
        #expect(counts[.sent] == summary.sent && counts[.deferred] == summary.deferred)
        #expect(summary.deferred > 0 && counts[.sending] == nil)
    }

    @Test func recordDeliveriesRecordsSentAndDeferredRowsOnlyWhereTheyAreClaimed() throws {
        for index in 0..<4 {
            _ = try store.addSubscriber(email: "r\(index)@example.org", name: nil, status: .confirmed)
        }
        _ = try store.prepareDelivery(week, addSubscribers: true)
        let claims = try store.claimDeliveries(week, limit: 3, runStarted: Date())
        #expect(claims.count == 3)
        let unclaimed = try #require(
            try store.deliveryReplies(week, state: .pending).first.flatMap { pending in
                try store.subscriber(email: pending.email)?.id
            })
        let ledger: any DeliveryLedger = store
        try ledger.recordDeliveries(
            week,
            [
                .sent(subscriberID: claims[0].subscriber.id, messageID: "m0@example", reply: "250 ok"),
                .deferred(subscriberID: claims[1].subscriber.id, reply: "451 later"),
                // Not claimed: nothing changes for it.
                .sent(subscriberID: unclaimed, messageID: "mx@example", reply: "250 ok"),
            ])
        #expect(try store.deliveryCounts(week) == [.sent: 1, .deferred: 1, .sending: 1, .pending: 1])
        #expect(try store.deliveryReplies(week, state: .deferred).map(\.reply) == ["451 later"])
    }
}
