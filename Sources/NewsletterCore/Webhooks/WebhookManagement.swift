import Foundation

/// What `newsletter webhooks`, the editor's page and the API do to endpoints, written once:
/// a URL is checked by the target policy (resolved, on a thread of its own) before it is stored.
public struct WebhookManagement: Sendable {
    public var store: any WebhookStore
    public var settings: WebhookSettings
    public var time: any TimeSource

    public init(store: any WebhookStore, settings: WebhookSettings, time: any TimeSource = SystemTime()) {
        self.store = store
        self.settings = settings
        self.time = time
    }

    /// Adds an endpoint with a new secret, returned once here and shown nowhere else.
    public func add(url: String, events: [WebhookEventType]) async throws -> (WebhookEndpoint, WebhookSecret) {
        let policy = settings.targets
        _ = try await ThreadExecutor.withOwnThread { () throws(WebhookTargetRefusal) in try policy.check(url) }
        let secret = WebhookSecret.make()
        return (try await store.addWebhookEndpoint(url: url, events: events, secret: secret, at: time.now()), secret)
    }

    /// Sends one `webhook.test` event to the endpoint now (not through the queue) and logs the
    /// attempt; nil when there is no such endpoint.
    public func test(endpointID: Int64) async throws -> WebhookAttempt? {
        guard let (endpoint, secret) = try await store.webhookEndpoint(id: endpointID) else { return nil }
        let sender = WebhookSender(policy: settings.targets, timeoutSeconds: settings.timeoutSeconds, time: time)
        let event = WebhookEvent.test(endpointID: endpointID, at: time.now())
        let attempt = await ThreadExecutor.withOwnThread {
            sender.send(
                messageID: WebhookMessageID.make(), type: .test, body: event.body, secret: secret,
                endpointID: endpoint.id, attempt: 1, to: sender.pin(endpoint.url))
        }
        try await store.logWebhookAttempt(attempt)
        return attempt
    }
}
