import Foundation
import GRDB
import PostgresNIO
import Testing

@testable import NewsletterCore

/// A reader's own data on both stores: the export holds exactly theirs, the erasure leaves
/// their address nowhere while the issue's report keeps its counts, and the suppression list
/// keeps imports and `subscribers add` from bringing them back until a new double opt-in.
@Suite("Reader data contract", .runningStores)
struct ReaderDataContractTests {
    let week = try! IssueWeek(parsing: "2026-W49")
    let t0 = Date(timeIntervalSince1970: 1_796_000_000)

    /// Ada signed up through the form and confirmed (consent, tokens, a webhook event, a welcome mail still
    /// queued); Bob was imported. Both got the issue (the reply quoting each address), bounced
    /// softly once (the diagnostic quoting it) and clicked a link.
    func twoReaders(_ store: some ContractStore) async throws -> (ada: Subscriber, bob: Subscriber) {
        // A CRM listening: each confirmation and bounce goes into the webhook outbox, address and all.
        _ = try await store.addWebhookEndpoint(
            url: "https://crm.example/hook", events: WebhookEventType.subscribable, secret: .make(), at: t0)
        let client = ClientInfo(address: "192.0.2.7", userAgent: "Firefox")
        guard case .confirmationQueued(let adaID) = try await store.requestSignup(
            try MailAddress("ada@example.org"), name: "Ada Lovelace", client: client, policy: SignupPolicy(), at: t0)
        else { throw ReaderDataSetupFailed() }
        let confirmation = try await store.newConfirmationToken(subscriberID: adaID, lifetime: 86400, at: t0)
        #expect(try await store.confirm(token: confirmation, client: client, at: t0) == .confirmed(email: "ada@example.org"))
        #expect(
            try await store.importSubscriber(email: "bob@example.org", name: "Bob Marley", topics: nil, source: "l.csv:2", at: t0))
        var draft = IssueDraft(
            week: week, subject: "S", html: "<p>h</p>", text: "t", manifest: "{}", comparisonIDs: [], hash: "h1")
        draft.links = [
            TrackedLink(id: "aaaaaaaaaaa2", week: week, variant: "everything", comparisonID: nil, target: "https://a.example")
        ]
        try await store.saveDraft(draft)
        try await store.approve(week, hash: "h1", at: t0)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let claimed = try await store.claimDeliveries(week, limit: 10, runStarted: t0)
        for claim in claimed {
            try await store.recordSent(
                week, subscriberID: claim.subscriber.id, messageID: "<m\(claim.subscriber.id)@x>",
                reply: "250 2.0.0 ok for <\(claim.subscriber.email)>")
        }
        let ada = try #require(try await store.subscriber(email: "ada@example.org"))
        let bob = try #require(try await store.subscriber(email: "bob@example.org"))
        for reader in [ada, bob] {
            _ = try await store.recordBounce(
                BounceRecord(
                    key: "dsn:\(reader.id)", subscriberID: reader.id, week: week, kind: .soft,
                    evidence: BounceEvidence(
                        status: "4.2.2", action: "delayed", diagnostic: "452 4.2.2 <\(reader.email)> mailbox full"),
                    source: .mailbox, receivedAt: t0),
                rule: BounceRule())
            try await store.recordClicks([
                ClickCount(linkID: "aaaaaaaaaaa2", subscriberID: reader.id, clicks: reader.id == ada.id ? 2 : 5, scannerClicks: 0)
            ])
        }
        return (ada, bob)
    }

    @Test(arguments: StoreBackend.all)
    func theExportHoldsThatReadersDataAndNoOneElses(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (ada, _) = try await twoReaders(store)
        let data = try #require(try await store.readerData(email: "ADA@example.org"))
        #expect(data.subscriber.email == "ada@example.org" && data.subscriber.name == "Ada Lovelace")
        #expect(data.subscriber.status == .confirmed)
        #expect(data.consent.map(\.event) == ["signup", "confirm"])
        #expect(data.consent.first?.clientAddress == "192.0.2.7")
        #expect(data.deliveries.map(\.week) == [week.description])
        #expect(data.deliveries.first?.state == "sent" && data.deliveries.first?.lastReply?.contains("ada@") == true)
        #expect(data.bounces.map(\.kind) == ["soft"] && data.bounces.first?.diagnostic?.contains("ada@") == true)
        #expect(data.clicks == [ReaderData.Click(week: week.description, target: "https://a.example", clicks: 2, scannerClicks: 0)])
        let json = String(decoding: try data.json(), as: UTF8.self)
        #expect(json.contains("\"email\" : \"ada@example.org\""))
        #expect(!json.contains("bob") && !json.contains("Bob"), "another reader's data: \(json)")
        #expect(!json.contains("\"id\""), "internal ids say nothing to the reader")
        #expect(try await store.readerData(email: "nobody@example.org") == nil)
        _ = ada
    }

    @Test(arguments: StoreBackend.all)
    func afterAnErasureNoTableHoldsTheAddressAndTheReportKeepsItsCounts(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (ada, bob) = try await twoReaders(store)
        try await store.recordAudit(
            AuditEntry(at: t0, actor: "cli", action: .subscriberChange, subject: "ada@example.org", detail: "added"))
        let before = try await StoreProbe.columnsHolding("ada@example.org", in: store)
        #expect(
            Set(["subscriber.email", "delivery.last_reply", "bounce_event.diagnostic", "webhook_event.body"])
                .isSubset(of: before),
            "the probe finds it before: \(before)")
        let counts = try await store.deliveryCounts(week)
        let tally = try await store.bounceTally(week)
        let activity = try await store.sendActivity(week, unsubscribeWindow: 7 * 86400)
        let bobBefore = try await store.readerData(email: bob.email)

        #expect(try await store.erase(email: " Ada@Example.org ", actor: "cli") == .erased(email: "ada@example.org"))

        #expect(try await StoreProbe.columnsHolding("ada@example.org", in: store) == [])
        #expect(try await StoreProbe.columnsHolding("Lovelace", in: store) == [])
        #expect(try await store.subscriber(email: "ada@example.org") == nil)
        #expect(try await store.deliveryCounts(week) == counts)
        #expect(try await store.bounceTally(week).delivered == tally.delivered)
        #expect(try await store.bounceTally(week).soft == tally.soft)
        #expect(try await store.sendActivity(week, unsubscribeWindow: 7 * 86400).progress == activity.progress)
        var bobAfter = try await store.readerData(email: bob.email)
        bobAfter?.exportedAt = bobBefore?.exportedAt ?? t0
        #expect(bobAfter == bobBefore, "another reader is untouched")

        let audit = try await store.auditEntries(subject: "subscriber #\(ada.id)", limit: 10)
        #expect(audit.map(\.action) == [.subscriberErase, .subscriberChange], "the earlier entry renamed")
        #expect(audit.first?.actor == "cli")

        #expect(try await store.erase(email: "ada@example.org", actor: "cli") == .alreadyErased)
        #expect(try await store.erase(email: "nobody@example.org", actor: "cli") == .unknown)
    }

    @Test(arguments: StoreBackend.all)
    func anErasedAddressCannotBeImportedOrAddedBack(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        #expect(try await store.erase(email: "ada@example.org", actor: "cli") == .erased(email: "ada@example.org"))
        await #expect(throws: AddressSuppressed(email: "ADA@example.org")) {
            try await store.importSubscriber(email: "ADA@example.org", name: nil, topics: nil, source: "old.csv:7", at: t0)
        }
        await #expect(throws: AddressSuppressed(email: "ada@example.org")) {
            try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        }
        await #expect(throws: AddressSuppressed.self, "an API client's signup") {
            try await store.requestSignupUnlessSuppressed(
                try MailAddress("ada@example.org"), name: nil, topics: nil, client: .commandLine,
                policy: SignupPolicy(), at: t0)
        }
        #expect(try await store.subscriberCount(status: nil) == 0)
        // Someone else is imported as ever.
        #expect(try await store.importSubscriber(email: "bob@example.org", name: nil, topics: nil, source: "s", at: t0))
    }

    @Test(arguments: StoreBackend.all)
    func aNewSignupConfirmedByItsOwnerLiftsTheSuppression(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        _ = try await store.erase(email: "ada@example.org", actor: "cli")
        let address = try MailAddress("ada@example.org")

        // A signup alone does not: its pending row removed unconfirmed, the address is still out.
        guard case .confirmationQueued = try await store.requestSignup(
            address, name: nil, client: .commandLine, policy: SignupPolicy(), at: t0)
        else { throw ReaderDataSetupFailed() }
        #expect(try await store.removeSubscriber(email: "ada@example.org"))
        await #expect(throws: AddressSuppressed.self) {
            try await store.importSubscriber(email: "ada@example.org", name: nil, topics: nil, source: "s", at: t0)
        }

        guard case .confirmationQueued(let id) = try await store.requestSignup(
            address, name: nil, client: .commandLine, policy: SignupPolicy(), at: t0)
        else { throw ReaderDataSetupFailed() }
        let token = try await store.newConfirmationToken(subscriberID: id, lifetime: 86400, at: t0)
        #expect(try await store.confirm(token: token, client: .commandLine, at: t0) == .confirmed(email: "ada@example.org"))
        #expect(try await store.removeSubscriber(email: "ada@example.org"))
        #expect(try await store.importSubscriber(email: "ada@example.org", name: nil, topics: nil, source: "s", at: t0))
    }
}

struct ReaderDataSetupFailed: Error {}

extension StoreProbe {
    /// Every "table.column" of the store (every table, every column read as text) where some
    /// row holds `text` in any case: what an erasure must leave empty.
    static func columnsHolding(_ text: String, in store: any ContractStore) async throws -> [String] {
        let needle = text.lowercased()
        if let sqlite = store as? AppDatabase {
            return try await sqlite.read { db in
                var found: [String] = []
                let tables = try String.fetchAll(
                    db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                for table in tables {
                    for column in try db.columns(in: table).map(\.name) {
                        let hits = try Int.fetchOne(
                            db,
                            sql: """
                                SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier)
                                WHERE instr(lower(CAST(\(column.quotedDatabaseIdentifier) AS TEXT)), ?) > 0
                                """, arguments: [needle]) ?? 0
                        if hits > 0 { found.append("\(table).\(column)") }
                    }
                }
                return found
            }
        }
        if let postgres = store as? PostgresStore {
            return try await postgres.read { connection in
                var found: [String] = []
                let columns = try await connection.rows(
                    """
                    SELECT table_name, column_name FROM information_schema.columns
                    WHERE table_schema = 'public' ORDER BY table_name, column_name
                    """
                ).map { try $0.decode((String, String).self) }
                for (table, column) in columns {
                    var query = PostgresQuery(
                        unsafeSQL: "SELECT count(*) FROM \"\(table)\" WHERE strpos(lower(\"\(column)\"::text), $1) > 0")
                    query.binds.append(needle, context: .default)
                    if try await connection.rows(query).first?.decode(Int.self) ?? 0 > 0 {
                        found.append("\(table).\(column)")
                    }
                }
                return found
            }
        }
        Issue.record("no way to search the tables of \(type(of: store))")
        return ["?"]
    }
}
