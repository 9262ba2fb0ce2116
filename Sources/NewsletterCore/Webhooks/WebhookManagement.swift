import Foundation

/// What `newsletter webhooks`, the editor's page and the API do to endpoints, written once:
/// a URL is checked by the target policy (resolved, on a thread of its own) before it is stored,
/// and each change is recorded in the audit log under `actor` (`cli`, `api-key:NAME`).
public struct WebhookManagement: Sendable {
    public var store: any WebhookStore & AuditLogStore
    public var settings: WebhookSettings
    public var time: any TimeSource
    public var actor: String

    public init(
        store: any WebhookStore & AuditLogStore, settings: WebhookSettings, time: any TimeSource = SystemTime(),
        actor: String = "cli"
    ) {
        self.store = store
        self.settings = settings
        self.time = time
        self.actor = actor
    }

    private var audit: AuditLog { AuditLog(store: store, time: time) }

    /// Adds an endpoint with a new secret, returned once here and shown nowhere else.
    public func add(url: String, events: [WebhookEventType]) async throws -> (WebhookEndpoint, WebhookSecret) {
        let policy = settings.targets
        _ = try await ThreadExecutor.withOwnThread { () throws(WebhookTargetRefusal) in try policy.check(url) }
        let secret = WebhookSecret.make()
        let endpoint = try await store.addWebhookEndpoint(url: url, events: events, secret: secret, at: time.now())
        try await audit.record(
            actor: actor, action: AuditAction("webhook.add"), subject: "webhook \(endpoint.id)",
            detail: "\(url) [\(WebhookEventType.stored(events))]")
        return (endpoint, secret)
    }

    /// False when there is no such endpoint.
    public func remove(id: Int64) async throws -> Bool {
        guard try await store.removeWebhookEndpoint(id: id) else { return false }
        try await audit.record(actor: actor, action: AuditAction("webhook.remove"), subject: "webhook \(id)")
        return true
    }

    /// False when there is no such endpoint.
    public func enable(id: Int64) async throws -> Bool {
        guard try await store.enableWebhookEndpoint(id: id, at: time.now()) else { return false }
        try await audit.record(actor: actor, action: AuditAction("webhook.enable"), subject: "webhook \(id)")
        return true
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
