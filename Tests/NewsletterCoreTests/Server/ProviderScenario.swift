import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NewsletterCore
import Testing

/// A list whose week went out: reader0…readerN-1@example.org, each with a copy recorded as
/// sent, in a store of the given backend; and the server, with the providers a test turns on,
/// run through the real assembly at a manual time just after the send.
struct ProviderScenario {
    let store: any ContractStore
    let week = try! IssueWeek(parsing: "2026-W47")
    let time: ManualTime
    let subscriberCount: Int
    /// The server's counters, read by the tests.
    let metrics = EndpointMetrics()

    init(_ backend: StoreBackend, subscribers: Int = 4) async throws {
        store = try await backend.makeStore()
        subscriberCount = subscribers
        for index in 0..<subscribers {
            _ = try await store.addSubscriber(email: Self.email(index), name: nil, status: .confirmed)
        }
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        for claim in try await store.claimDeliveries(week, limit: subscribers, runStarted: Date()) {
            try await store.recordSent(
                week, subscriberID: claim.subscriber.id, messageID: "copy\(claim.subscriber.id)@shiporskip.example",
                reply: "250 2.0.0 queued")
        }
        time = ManualTime(Date().addingTimeInterval(60))
    }

    static func email(_ index: Int) -> String { "reader\(index)@example.org" }

    func status(_ index: Int) async throws -> Subscriber.Status? {
        try await store.subscriber(email: Self.email(index))?.status
    }

    /// The server on this store, as `serve` builds it, with `providers` turned on.
    func withServer(
        _ providers: ProviderSettings, _ test: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        try await Self.withServer(store, providers, time: time, metrics: metrics, test)
    }

    private static func withServer<Store: NewsletterStore>(
        _ store: Store, _ providers: ProviderSettings, time: ManualTime, metrics: EndpointMetrics,
        _ test: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        var dependencies = ServerDependencies()
        dependencies.time = time
        dependencies.metrics = metrics
        // The test runs the PostgreSQL store's pool (`.runningStores`).
        dependencies.runsStorePool = false
        let app = try TestServer.app(store: store, dependencies: dependencies) {
            $0.bounces.providers = providers
        }
        try await app.test(.router) { client in try await test(client) }
    }
}

/// One answer, read.
struct WebhookAnswer {
    var status: HTTPResponse.Status
    var body: String
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    var recorded: Int? { json["recorded"] as? Int }
    var ignored: Int? { (json["ignored"] as? [Any])?.count }
    var replayed: Int? { (json["replayed"] as? [Any])?.count }

    static func post(
        _ client: any TestClientProtocol, _ path: String, headers: HTTPFields = [:], body: some Collection<UInt8>
    ) async throws -> WebhookAnswer {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await client.execute(
            uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: Array(body))
        ) { WebhookAnswer(status: $0.status, body: String(buffer: $0.body)) }
    }
}
