import Foundation

/// The webhook tables' row operations, one statement each, inside a transaction the caller
/// holds. Each store implements them; the outbox, the claims and the endpoint's health are
/// written once below, over them.
protocol WebhookRows {
    /// The endpoints not disabled, with the events they listen to.
    func enabledWebhookEndpoints() async throws -> [WebhookEndpoint]
    func webhookEndpoints() async throws -> [WebhookEndpoint]
    func webhookEndpoint(id: Int64) async throws -> WebhookEndpoint?
    func webhookSecret(endpointID: Int64) async throws -> String?
    func insertWebhookEndpoint(url: String, secret: String, events: String, at time: Date) async throws -> Int64
    func deleteWebhookEndpoint(id: Int64) async throws -> Bool
    /// Sets the endpoint's failure run and disabled state (nil clears each).
    func setWebhookEndpointHealth(id: Int64, failingSince: Date?, disabledAt: Date?, disabledReason: String?)
        async throws
    func insertWebhookEvent(type: String, body: String, at time: Date) async throws -> Int64
    func insertWebhookDelivery(messageID: String, eventID: Int64, endpointID: Int64, at time: Date) async throws
    /// Up to `limit` pending deliveries due by `time` to enabled endpoints, oldest due first,
    /// with the attempts made before; on PostgreSQL, rows another process holds are skipped.
    func dueWebhookDeliveries(limit: Int, at time: Date) async throws -> [WebhookDelivery]
    /// One more attempt for each, and not due again until `time` (the lease).
    func leaseWebhookDeliveries(ids: [Int64], until time: Date) async throws
    /// `state` is pending, delivered or failed.
    func updateWebhookDelivery(id: Int64, state: String, nextAttemptAt: Date?, deliveredAt: Date?) async throws
    /// Makes the endpoint's pending deliveries due at `time` (it was enabled again).
    func rescheduleWebhookDeliveries(endpointID: Int64, at time: Date) async throws
    func insertWebhookAttempt(_ attempt: WebhookAttempt) async throws
    /// The latest attempts logged before the one with id `beforeID` (nil: the very latest), newest
    /// first; all endpoints' when `endpointID` is nil.
    func webhookAttempts(endpointID: Int64?, before beforeID: Int64?, limit: Int) async throws -> [WebhookAttempt]
    /// Pending deliveries, per endpoint id.
    func pendingWebhookDeliveries() async throws -> [Int64: Int]
}

/// `webhook-id`s: `msg_` and 24 random characters, unique without asking the store.
enum WebhookMessageID {
    static func make() -> String { "msg_" + Hex.encode(RandomBytes.make(12)) }
}

extension WebhookRows {
    /// Writes the event to the outbox, one delivery per endpoint listening, in the caller's
    /// transaction: it is told if and only if the change it tells of commits.
    func recordWebhookEvent(_ event: WebhookEvent, at time: Date) async throws {
        let listeners = try await enabledWebhookEndpoints().filter { $0.listens(to: event.type) }
        // Disabled endpoints miss what happens while they are: enabling one does not replay days.
        guard !listeners.isEmpty else { return }
        let eventID = try await insertWebhookEvent(type: event.type.rawValue, body: event.body, at: time)
        for endpoint in listeners {
            try await insertWebhookDelivery(
                messageID: WebhookMessageID.make(), eventID: eventID, endpointID: endpoint.id, at: time)
        }
    }

    func claimWebhookDeliveries(limit: Int, at time: Date, lease: TimeInterval) async throws -> [WebhookDelivery] {
        let due = try await dueWebhookDeliveries(limit: limit, at: time)
        guard !due.isEmpty else { return [] }
        try await leaseWebhookDeliveries(ids: due.map(\.id), until: time.addingTimeInterval(lease))
        return due.map { delivery in
            var claimed = delivery
            claimed.attempt += 1
            return claimed
        }
    }

    /// Logs each attempt, settles its delivery (delivered, retried later, or given up) and the
    /// endpoint's health; returns the endpoints this disabled.
    func recordWebhookAttempts(_ outcomes: [WebhookAttemptOutcome], policy: WebhookRetryPolicy) async throws
        -> [WebhookEndpointDisabled]
    {
        var disabled: [WebhookEndpointDisabled] = []
        for outcome in outcomes {
            let attempt = outcome.attempt
            try await insertWebhookAttempt(attempt)
            guard let endpoint = try await webhookEndpoint(id: attempt.endpointID) else { continue }
            if attempt.succeeded {
                try await updateWebhookDelivery(
                    id: outcome.deliveryID, state: "delivered", nextAttemptAt: nil, deliveredAt: attempt.at)
                if endpoint.failingSince != nil {
                    try await setWebhookEndpointHealth(
                        id: endpoint.id, failingSince: nil, disabledAt: endpoint.disabledAt,
                        disabledReason: endpoint.disabledReason)
                }
                continue
            }
            let next = policy.nextAttempt(afterFailed: attempt.attempt, at: attempt.at)
            try await updateWebhookDelivery(
                id: outcome.deliveryID, state: next == nil ? "failed" : "pending", nextAttemptAt: next,
                deliveredAt: nil)
            let failingSince = endpoint.failingSince ?? attempt.at
            var disabledAt = endpoint.disabledAt
            var reason = endpoint.disabledReason
            if endpoint.enabled, let why = policy.disabling(failingSince: failingSince, status: attempt.status, at: attempt.at) {
                disabledAt = attempt.at
                reason = why
                disabled.append(WebhookEndpointDisabled(endpointID: endpoint.id, url: endpoint.url, reason: why))
            }
            if failingSince != endpoint.failingSince || disabledAt != endpoint.disabledAt {
                try await setWebhookEndpointHealth(
                    id: endpoint.id, failingSince: failingSince, disabledAt: disabledAt, disabledReason: reason)
            }
        }
        return disabled
    }
}

/// The webhooks' part of a store: the endpoints, the delivery queue and the attempts' log.
public protocol WebhookStore: Sendable {
    func addWebhookEndpoint(url: String, events: [WebhookEventType], secret: WebhookSecret, at time: Date)
        async throws -> WebhookEndpoint
    func webhookEndpoints() async throws -> [WebhookEndpoint]
    /// The endpoint and its secret, for a test send; nil when there is no such endpoint.
    func webhookEndpoint(id: Int64) async throws -> (endpoint: WebhookEndpoint, secret: WebhookSecret)?
    /// Removes the endpoint with its queue and log; false when there was none.
    func removeWebhookEndpoint(id: Int64) async throws -> Bool
    /// Enables the endpoint again and makes its pending deliveries due; false when there was none.
    func enableWebhookEndpoint(id: Int64, at time: Date) async throws -> Bool
    /// The attempts logged before the one with id `beforeID` (nil: the latest), newest first; all
    /// endpoints' when `endpointID` is nil. A page of the log ends where the next one begins.
    func webhookAttempts(endpointID: Int64?, before beforeID: Int64?, limit: Int) async throws -> [WebhookAttempt]
    /// Pending deliveries, per endpoint id.
    func pendingWebhookDeliveries() async throws -> [Int64: Int]
    /// Claims the due deliveries under a lease: a crash mid-send means a retry once it has passed.
    func claimWebhookDeliveries(limit: Int, at time: Date, lease: TimeInterval) async throws -> [WebhookDelivery]
    func recordWebhookAttempts(_ outcomes: [WebhookAttemptOutcome], policy: WebhookRetryPolicy) async throws
        -> [WebhookEndpointDisabled]
    /// Logs an attempt that belongs to no queued delivery (`webhooks test`).
    func logWebhookAttempt(_ attempt: WebhookAttempt) async throws
}

extension RowTransactions {
    public func addWebhookEndpoint(url: String, events: [WebhookEventType], secret: WebhookSecret, at time: Date)
        async throws -> WebhookEndpoint
    {
        try await rowTransaction { rows in
            let id = try await rows.insertWebhookEndpoint(
                url: url, secret: secret.text, events: WebhookEventType.stored(events), at: time)
            return WebhookEndpoint(id: id, url: url, events: events, createdAt: time)
        }
    }

    public func webhookEndpoints() async throws -> [WebhookEndpoint] {
        try await rowRead { rows in try await rows.webhookEndpoints() }
    }

    public func webhookEndpoint(id: Int64) async throws -> (endpoint: WebhookEndpoint, secret: WebhookSecret)? {
        try await rowRead { rows in
            guard let endpoint = try await rows.webhookEndpoint(id: id),
                let secret = try await rows.webhookSecret(endpointID: id)
            else { return nil }
            return (endpoint, try WebhookSecret(secret))
        }
    }

    public func removeWebhookEndpoint(id: Int64) async throws -> Bool {
        try await rowTransaction { rows in try await rows.deleteWebhookEndpoint(id: id) }
    }

    public func enableWebhookEndpoint(id: Int64, at time: Date) async throws -> Bool {
        try await rowTransaction { rows in
            guard try await rows.webhookEndpoint(id: id) != nil else { return false }
            try await rows.setWebhookEndpointHealth(id: id, failingSince: nil, disabledAt: nil, disabledReason: nil)
            try await rows.rescheduleWebhookDeliveries(endpointID: id, at: time)
            return true
        }
    }

    public func webhookAttempts(endpointID: Int64?, before beforeID: Int64?, limit: Int) async throws
        -> [WebhookAttempt]
    {
        try await rowRead { rows in
            try await rows.webhookAttempts(endpointID: endpointID, before: beforeID, limit: limit)
        }
    }

    public func pendingWebhookDeliveries() async throws -> [Int64: Int] {
        try await rowRead { rows in try await rows.pendingWebhookDeliveries() }
    }

    public func claimWebhookDeliveries(limit: Int, at time: Date, lease: TimeInterval) async throws
        -> [WebhookDelivery]
    {
        try await rowTransaction { rows in try await rows.claimWebhookDeliveries(limit: limit, at: time, lease: lease) }
    }

    public func recordWebhookAttempts(_ outcomes: [WebhookAttemptOutcome], policy: WebhookRetryPolicy) async throws
        -> [WebhookEndpointDisabled]
    {
        try await rowTransaction { rows in try await rows.recordWebhookAttempts(outcomes, policy: policy) }
    }

    public func logWebhookAttempt(_ attempt: WebhookAttempt) async throws {
        try await rowTransaction { rows in try await rows.insertWebhookAttempt(attempt) }
    }
}

extension WebhookStore {
    /// The latest attempts, newest first (`webhooks log`, the editor's page).
    public func webhookAttempts(endpointID: Int64?, limit: Int) async throws -> [WebhookAttempt] {
        try await webhookAttempts(endpointID: endpointID, before: nil, limit: limit)
    }
}

extension WebhookRows where Self: SubscriberRows {
    /// A subscriber's event; the subscriber's address is read only when some endpoint listens.
    func recordSubscriberEvent(
        _ type: WebhookEventType, subscriberID: Int64, reason: String? = nil, at time: Date
    ) async throws {
        guard try await enabledWebhookEndpoints().contains(where: { $0.listens(to: type) }),
            let subscriber = try await subscriber(id: subscriberID)
        else { return }
        try await recordWebhookEvent(
            .subscriber(type, id: subscriberID, email: subscriber.email, reason: reason, at: time), at: time)
    }
}
