import Foundation
import Testing

@testable import NewsletterCore

/// The outbox, on both stores: each change writes its event in its own transaction, one
/// delivery per endpoint listening, and a change that does not happen tells nothing.
@Suite("Webhook outbox", .runningStores)
struct WebhookOutboxTests {
    let week = try! IssueWeek(parsing: "2026-W47")

    func claimAll(_ store: some WebhookStore, at time: Date = Date()) async throws -> [WebhookDelivery] {
        try await store.claimWebhookDeliveries(limit: 1000, at: time.addingTimeInterval(1), lease: 600)
    }

    func body(_ delivery: WebhookDelivery) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(delivery.body.utf8)) as? [String: Any])
    }

    func confirmedSubscriber(_ email: String, in store: any ContractStore) async throws -> Int64 {
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                try MailAddress(email), name: nil, topics: nil, client: .commandLine, policy: SignupPolicy(), at: Date())
        else { throw CancellationError() }
        let token = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: Date())
        _ = try await store.confirm(token: token, client: .commandLine, at: Date())
        return id
    }

    @Test(arguments: StoreBackend.all)
    func eachChangeWritesItsEventOncePerListeningEndpoint(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        // Nobody listens yet: nothing is kept.
        _ = try await confirmedSubscriber("early@example.org", in: store)
        #expect(try await claimAll(store).isEmpty)

        let all = try await store.addWebhookEndpoint(
            url: "https://a.example/hook", events: WebhookEventType.subscribable, secret: .make(), at: Date())
        let issues = try await store.addWebhookEndpoint(
            url: "https://b.example/hook", events: [.issueApproved, .issueSent], secret: .make(), at: Date())

        let ada = try await confirmedSubscriber("ada@example.org", in: store)
        let token = try await store.newUnsubscribeToken(subscriberID: ada, at: Date())
        _ = try await store.unsubscribe(token: token, client: .commandLine, at: Date())
        // Pressed again: nothing changes, nothing is told.
        _ = try await store.unsubscribe(token: token, client: .commandLine, at: Date())
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "S", html: "<p>h</p>", text: "t", manifest: "{}", comparisonIDs: [], hash: "h1"))
        try await store.approve(week, hash: "h1", at: Date())
        try await store.approve(week, hash: "h1", at: Date())
        try await store.markSent(week, at: Date())
        try await store.markSent(week, at: Date())

        let deliveries = try await claimAll(store)
        let toAll = deliveries.filter { $0.endpointID == all.id }.map(\.type)
        let toIssues = deliveries.filter { $0.endpointID == issues.id }.map(\.type)
        #expect(
            toAll == [.subscriberConfirmed, .subscriberUnsubscribed, .issueApproved, .issueSent])
        #expect(toIssues == [.issueApproved, .issueSent])
        // Each delivery has its own webhook-id; both endpoints get the same body.
        #expect(Set(deliveries.map(\.messageID)).count == deliveries.count)
        let confirmed = try #require(deliveries.first { $0.type == .subscriberConfirmed })
        let payload = try body(confirmed)
        #expect(payload["type"] as? String == "subscriber.confirmed")
        #expect((payload["data"] as? [String: Any])?["email"] as? String == "ada@example.org")
        #expect((payload["data"] as? [String: Any])?["id"] as? Int == Int(ada))
        #expect(payload["timestamp"] is String)
        let approved = deliveries.filter { $0.type == .issueApproved }
        #expect(Set(approved.map(\.body)).count == 1)
        #expect((try body(approved[0])["data"] as? [String: Any])?["hash"] as? String == "h1")
    }

    /// However someone becomes a confirmed subscriber (a confirmation link, `subscribers add`,
    /// an import, an API create with its consent named), a CRM listening hears it once.
    @Test(arguments: StoreBackend.all)
    func anAddedOrImportedConfirmedSubscriberIsToldOnceAndAPendingOneIsNot(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addWebhookEndpoint(
            url: "https://a.example/hook", events: [.subscriberConfirmed], secret: .make(), at: Date())
        _ = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        // Known already: returned as it is, nothing told again.
        _ = try await store.addSubscriber(email: "ADA@example.org", name: nil, status: .confirmed)
        _ = try await store.addSubscriber(email: "pat@example.org", name: nil, status: .pending)
        #expect(try await store.importSubscriber(email: "bo@example.org", name: "Bo", topics: nil, source: "desk", at: Date()))
        #expect(try await !store.importSubscriber(email: "bo@example.org", name: "Bo", topics: nil, source: "desk", at: Date()))

        let deliveries = try await claimAll(store)
        #expect(deliveries.map(\.type) == [.subscriberConfirmed, .subscriberConfirmed])
        let told = try deliveries.map { try #require((try body($0)["data"] as? [String: Any])?["email"] as? String) }
        #expect(told == ["ada@example.org", "bo@example.org"])
    }

    @Test(arguments: StoreBackend.all)
    func anApprovalRefusedWritesNoEvent(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addWebhookEndpoint(
            url: "https://a.example/hook", events: [.issueApproved], secret: .make(), at: Date())
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "S", html: "<p>h</p>", text: "t", manifest: "{}", comparisonIDs: [], hash: "h1"))
        // The approval names a hash that is not the draft's: refused, and so is its event.
        await #expect(throws: (any Error).self) { try await store.approve(week, hash: "stale", at: Date()) }
        #expect(try await claimAll(store).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func bounceOutcomesTellBouncedComplainedAndUnsubscribed(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        // Added before anyone listens: their own subscriber.confirmed events are not kept.
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let bob = try await store.addSubscriber(email: "bob@example.org", name: nil, status: .confirmed)
        _ = try await store.addWebhookEndpoint(
            url: "https://a.example/hook", events: WebhookEventType.subscribable, secret: .make(), at: Date())
        func record(_ key: String, _ id: Int64, _ evidence: BounceEvidence) async throws {
            _ = try await store.recordBounce(
                BounceRecord(
                    key: key, subscriberID: id, week: week, kind: BounceRule.classify(evidence), evidence: evidence,
                    source: .mailbox, receivedAt: Date()),
                rule: BounceRule())
        }
        try await record("hard", ada.id, BounceEvidence(status: "5.1.1", action: "failed", diagnostic: "550 user unknown"))
        try await record(
            "arf", bob.id, BounceEvidence(status: nil, action: nil, diagnostic: "abuse", isComplaint: true))
        let deliveries = try await claimAll(store)
        #expect(
            deliveries.map(\.type) == [.subscriberBounced, .subscriberComplained, .subscriberUnsubscribed])
        #expect(
            deliveries.map { (try? body($0)["data"] as? [String: Any])?["email"] as? String }
                == ["ada@example.org", "bob@example.org", "bob@example.org"])
    }
}
