import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// The done-when of issue 26's webhooks: a receiver verifying signatures with the
/// standardwebhooks package dies mid-burst (after logging a request it never answers) and is
/// started again; every event arrives at least once, every request verifies, and a duplicate
/// carries the same webhook-id as the first copy.
@Suite(
    "Webhook receiver", .runningStores, .serialized,
    .enabled(if: WebhookReceiver.available, "standardwebhooks is not installed (scripts/setup-test-peers.sh)"))
struct WebhookReceiverTests {
    @Test(arguments: StoreBackend.all)
    func aReceiverKilledMidBurstGetsEveryEventAtLeastOnceWithStableIDs(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var settings = WebhookSettings()
        // The receiver is on 127.0.0.1: allowed here, explicitly.
        settings.targets.allowedNetworks = [IPNetwork("127.0.0.1/32")!]
        settings.senders = 2
        // Retries within the test's patience; the schedule's shape is WebhookDeliveryTests'.
        settings.retries.delays = [0.2, 0.5, 1, 2, 2, 2, 2, 2]
        let management = WebhookManagement(store: store, settings: settings)
        let port = try SMTPSink.freePort()
        let (endpoint, secret) = try await management.add(
            url: "http://127.0.0.1:\(port)/hooks", events: [.subscriberConfirmed])
        let eventCount = 120
        let receiver = try WebhookReceiver(secret: secret.text, port: port, dieAfter: eventCount / 3)

        var dispatcher = WebhookDispatcher(store: store, settings: settings, logger: Logger(label: "test"))
        dispatcher.batchSize = 5
        dispatcher.pollInterval = .milliseconds(50)
        let sending = Task { [dispatcher] in try await dispatcher.run() }
        defer { sending.cancel() }

        var emails: [String] = []
        for index in 0..<eventCount {
            let email = "reader\(index)@example.org"
            emails.append(email)
            guard
                case .confirmationQueued(let id) = try await store.requestSignup(
                    try MailAddress(email), name: nil, topics: nil, client: .commandLine, policy: SignupPolicy(),
                    at: Date())
            else { throw CancellationError() }
            let token = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: Date())
            _ = try await store.confirm(token: token, client: .commandLine, at: Date())
        }

        // The receiver exits on its own, mid-burst; it is started again once it has.
        try await waitUntil("the receiver died after \(eventCount / 3) requests") { !receiver.isRunning }
        let beforeDeath = try receiver.received()
        #expect(beforeDeath.count == eventCount / 3)
        try await waitUntil("an attempt failed while the receiver was down") {
            try await store.webhookAttempts(endpointID: endpoint.id, limit: 1000).contains { $0.error != nil }
        }
        try receiver.restart()
        try await waitUntil("every delivery delivered") {
            try await store.pendingWebhookDeliveries()[endpoint.id, default: 0] == 0
        }

        let received = try receiver.received()
        #expect(received.allSatisfy { $0.verified }, "\(received.filter { !$0.verified }.map { $0.error ?? "" })")
        let byEmail = Dictionary(grouping: received) { $0.data?["email"] }
        #expect(Set(byEmail.keys) == Set(emails.map { .text($0) }))
        // The request the receiver died on came again: the same webhook-id both times.
        let repeated = byEmail.values.filter { $0.count > 1 }
        #expect(!repeated.isEmpty)
        for copies in repeated { #expect(Set(copies.map(\.id)).count == 1) }
        #expect(Set(received.map(\.id)).count == eventCount)
        let attempts = try await store.webhookAttempts(endpointID: endpoint.id, limit: 10_000)
        #expect(attempts.filter(\.succeeded).count == eventCount)
    }

    /// Polls `condition` every 50 ms; a minute without it is a failure naming `what`.
    func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting until \(what)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
