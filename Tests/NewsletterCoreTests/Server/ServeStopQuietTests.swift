import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// When `serve` stops before it has started (its port is taken) or is stopped hard, its queues'
/// tasks are cancelled mid-read. That read claimed nothing: the operator should see why the
/// server stopped, not "could not be read: CancellationError" from each queue, and nothing
/// queued may be lost.
@Suite("A cancelled queue is quiet", .runningStores)
struct ServeStopQuietTests {
    /// Runs `body` in a task that is cancelled before it starts its work.
    static func cancelled<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await body()
        }.value
    }

    @Test(arguments: StoreBackend.all)
    func theEndpointMailQueueLogsNoErrorAndKeepsItsMail(_ backend: StoreBackend) async throws {
        try await endpointMailQueue(try await backend.makeStore())
    }

    func endpointMailQueue(_ store: some NewsletterStore) async throws {
        guard
            case .confirmationQueued = try await store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, client: .commandLine, policy: SignupPolicy(), at: Date())
        else { Issue.record("no confirmation queued"); return }
        let log = CapturedLog()
        let queue = EndpointMailQueue(
            store: store, transport: FileTransport(directory: try TestPaths.temporaryDirectory().path),
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            delivery: DeliverySettings(
                from: try MailAddress("digest@example.org"), listID: "digest.example.org",
                publicURL: "https://news.example.org"),
            issue: IssueSettings(), policy: SignupPolicy(), logger: log.logger, wakeup: Wakeup())

        #expect(await Self.cancelled { await queue.drain() } == 0)
        #expect(!log.text.contains("error"), "\(log.text)")
        #expect(try await store.endpointMailQueueDepth() == 1)
        // The next server sends it.
        #expect(await queue.drain() == 1)
    }

    /// The dispatcher looks at cancellation before each read, so a task cancelled before it
    /// starts never reaches the read (the one cancelled between the two is the race this test
    /// cannot pick): what it checks is that nothing is lost or reported.
    @Test(arguments: StoreBackend.all)
    func theWebhookDispatcherLogsNoErrorAndKeepsItsEvents(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let endpoint = try await store.addWebhookEndpoint(
            url: "http://127.0.0.1:\(try SMTPSink.freePort())/hook", events: [.subscriberConfirmed], secret: .make(),
            at: Date())
        guard
            case .confirmationQueued(let id) = try await store.requestSignup(
                try MailAddress("ada@example.org"), name: nil, client: .commandLine, policy: SignupPolicy(), at: Date())
        else { Issue.record("no confirmation queued"); return }
        let token = try await store.newConfirmationToken(subscriberID: id, lifetime: 3600, at: Date())
        _ = try await store.confirm(token: token, client: .commandLine, at: Date())
        var settings = WebhookSettings()
        settings.targets.allowedNetworks = ["127.0.0.1/32"].compactMap(IPNetwork.init)
        settings.senders = 1
        let log = CapturedLog()
        let dispatcher = WebhookDispatcher(store: store, settings: settings, logger: log.logger)

        #expect(await Self.cancelled { await dispatcher.drain() } == 0)
        #expect(!log.text.contains("error"), "\(log.text)")
        #expect(try await store.webhookAttempts(endpointID: endpoint.id, limit: 10).isEmpty)
        // The next server tries it (the port is dead: one failed attempt, logged).
        await dispatcher.drain()
        #expect(try await store.webhookAttempts(endpointID: endpoint.id, limit: 10).count == 1)
    }
}
