import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// Retries, disabling and the guard at delivery, on both stores, on a manual clock: the
/// endpoint is a port nobody listens on, so every attempt fails at once.
@Suite("Webhook delivery", .runningStores)
struct WebhookDeliveryTests {
    func settings(allowing networks: [String] = ["127.0.0.1/32"]) -> WebhookSettings {
        var settings = WebhookSettings()
        settings.targets.allowedNetworks = networks.compactMap(IPNetwork.init)
        settings.senders = 1
        settings.timeoutSeconds = 5
        return settings
    }

    func confirm(_ email: String, in store: any ContractStore, at time: Date) async throws {
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                try MailAddress(email), name: nil, topics: nil, client: .commandLine, policy: SignupPolicy(), at: time)
        else { throw CancellationError() }
        let token = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: time)
        _ = try await store.confirm(token: token, client: .commandLine, at: time)
    }

    @Test(arguments: StoreBackend.all)
    func aFailingEndpointIsRetriedOnTheScheduleThenDisabledAfterADayAndEnabledAgain(_ backend: StoreBackend)
        async throws
    {
        let store = try await backend.makeStore()
        let time = ManualTime()
        let deadPort = try SMTPSink.freePort()
        let settings = settings()
        let endpoint = try await store.addWebhookEndpoint(
            url: "http://127.0.0.1:\(deadPort)/hook", events: [.subscriberConfirmed], secret: .make(), at: time.now())
        try await confirm("ada@example.org", in: store, at: time.now())
        let dispatcher = WebhookDispatcher(store: store, settings: settings, time: time, logger: Logger(label: "test"))

        #expect(await dispatcher.drain() == 0)
        var attempts = try await store.webhookAttempts(endpointID: endpoint.id, limit: 100)
        #expect(attempts.map(\.attempt) == [1])
        #expect(attempts.first?.status == nil && attempts.first?.error?.isEmpty == false)
        // Not due before its delay (5 s), due after.
        time.advance(by: .seconds(4))
        await dispatcher.drain()
        #expect(try await store.webhookAttempts(endpointID: endpoint.id, limit: 100).count == 1)
        time.advance(by: .seconds(1))
        await dispatcher.drain()
        #expect(try await store.webhookAttempts(endpointID: endpoint.id, limit: 100).count == 2)
        // Each later attempt after the schedule's delay; the webhook-id never changes.
        for delay in settings.retries.delays.dropFirst().prefix(4) {  // 5 min, 30 min, 2 h, 5 h
            time.advance(by: .seconds(delay))
            await dispatcher.drain()
        }
        attempts = try await store.webhookAttempts(endpointID: endpoint.id, limit: 100)
        #expect(attempts.map(\.attempt) == [6, 5, 4, 3, 2, 1])
        #expect(Set(attempts.map(\.messageID)).count == 1)
        var listed = try #require(try await store.webhookEndpoints().first)
        #expect(listed.enabled && listed.failingSince != nil)
        // Attempt 7, 10 h later: failing for about 17 h, still enabled.
        time.advance(by: .seconds(settings.retries.delays[5]))
        await dispatcher.drain()
        #expect(try #require(try await store.webhookEndpoints().first).enabled)
        // Attempt 8, 10 h after that: failing for more than 24 h now, so the endpoint is disabled.
        time.advance(by: .seconds(settings.retries.delays[6]))
        await dispatcher.drain()
        listed = try #require(try await store.webhookEndpoints().first)
        #expect(!listed.enabled)
        #expect(listed.disabledReason?.contains("every attempt failed for 24 hours") == true)
        // Disabled: nothing more is tried, the delivery waits.
        time.advance(by: .seconds(settings.retries.delays[7]))
        await dispatcher.drain()
        #expect(try await store.webhookAttempts(endpointID: endpoint.id, limit: 100).count == 8)
        #expect(try await store.pendingWebhookDeliveries()[endpoint.id] == 1)
        // Enabled again: tried at once.
        #expect(try await store.enableWebhookEndpoint(id: endpoint.id, at: time.now()))
        await dispatcher.drain()
        #expect(try await store.webhookAttempts(endpointID: endpoint.id, limit: 100).count == 9)
    }

    @Test(arguments: StoreBackend.all)
    func aTargetNowPrivateIsRefusedAtDeliveryAndLogged(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let time = ManualTime()
        // Added while 127.0.0.1 was allowed; the allowance is gone by the time it is sent.
        let endpoint = try await WebhookManagement(store: store, settings: settings(), time: time).add(
            url: "http://127.0.0.1:9/hook", events: [.subscriberConfirmed]
        ).0
        // Recorded in the audit log, as the CLI's actor.
        #expect(
            try await store.auditEntries(subject: "webhook \(endpoint.id)", limit: 5).map(\.action.rawValue)
                == ["webhook.add"])
        try await confirm("ada@example.org", in: store, at: time.now())
        let dispatcher = WebhookDispatcher(
            store: store, settings: settings(allowing: []), time: time, logger: Logger(label: "test"))
        await dispatcher.drain()
        let attempt = try #require(try await store.webhookAttempts(endpointID: endpoint.id, limit: 10).first)
        #expect(attempt.status == nil)
        #expect(attempt.error?.contains("not sent: 127.0.0.1 is a loopback address") == true)
    }

    @Test(arguments: StoreBackend.all)
    func aClaimedDeliveryIsNotClaimedAgainUntilItsLeasePasses(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let time = ManualTime()
        _ = try await store.addWebhookEndpoint(
            url: "https://a.example/hook", events: [.subscriberConfirmed], secret: .make(), at: time.now())
        try await confirm("ada@example.org", in: store, at: time.now())
        let first = try await store.claimWebhookDeliveries(limit: 10, at: time.now(), lease: 60)
        #expect(first.map(\.attempt) == [1])
        #expect(try await store.claimWebhookDeliveries(limit: 10, at: time.now(), lease: 60).isEmpty)
        // The sender died without recording: after the lease, the same message again.
        let again = try await store.claimWebhookDeliveries(
            limit: 10, at: time.now().addingTimeInterval(61), lease: 60)
        #expect(again.map(\.attempt) == [2])
        #expect(again.map(\.messageID) == first.map(\.messageID))
    }
}
