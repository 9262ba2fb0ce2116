import Foundation
import PostgresNIO

extension PostgresStore: WebhookStore {
    static let webhooksMigration = Migration(
        version: 12, name: "outbound webhooks: endpoints, outbox, attempts (SQLite: v18-webhooks)",
        statements: [
            """
            CREATE TABLE webhook_endpoint (
                id bigserial PRIMARY KEY, url text NOT NULL, secret text NOT NULL, events text NOT NULL,
                created_at timestamptz NOT NULL, failing_since timestamptz, disabled_at timestamptz,
                disabled_reason text)
            """,
            """
            CREATE TABLE webhook_event (
                id bigserial PRIMARY KEY, type text NOT NULL, body text NOT NULL, created_at timestamptz NOT NULL)
            """,
            """
            CREATE TABLE webhook_delivery (
                id bigserial PRIMARY KEY, message_id text NOT NULL UNIQUE,
                event_id bigint NOT NULL REFERENCES webhook_event(id) ON DELETE CASCADE,
                endpoint_id bigint NOT NULL REFERENCES webhook_endpoint(id) ON DELETE CASCADE,
                state text NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
                attempts integer NOT NULL DEFAULT 0, created_at timestamptz NOT NULL,
                next_attempt_at timestamptz NOT NULL, delivered_at timestamptz)
            """,
            "CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at, id) WHERE state = 'pending'",
            "CREATE INDEX webhook_delivery_endpoint ON webhook_delivery (endpoint_id)",
            """
            CREATE TABLE webhook_attempt (
                id bigserial PRIMARY KEY,
                endpoint_id bigint NOT NULL REFERENCES webhook_endpoint(id) ON DELETE CASCADE,
                message_id text NOT NULL, event_type text NOT NULL, attempt integer NOT NULL,
                at timestamptz NOT NULL, status integer, duration_ms integer NOT NULL, error text)
            """,
            "CREATE INDEX webhook_attempt_endpoint ON webhook_attempt (endpoint_id, id)",
        ])
}

extension PostgresSession: WebhookRows {
    private static let endpointColumns = "id, url, events, created_at, failing_since, disabled_at, disabled_reason"

    private func endpoints(_ filter: String, _ id: Int64? = nil) async throws -> [WebhookEndpoint] {
        var query = PostgresQuery(unsafeSQL: "SELECT \(Self.endpointColumns) FROM webhook_endpoint \(filter) ORDER BY id")
        if let id { query.binds.append(id) }
        return try await rows(query).map { row in
            let (id, url, events, createdAt, failingSince, disabledAt, reason) = try row.decode(
                (Int64, String, String, Date, Date?, Date?, String?).self)
            return WebhookEndpoint(
                id: id, url: url, events: WebhookEventType.parseStored(events), createdAt: createdAt,
                failingSince: failingSince, disabledAt: disabledAt, disabledReason: reason)
        }
    }

    func enabledWebhookEndpoints() async throws -> [WebhookEndpoint] {
        try await endpoints("WHERE disabled_at IS NULL")
    }

    func webhookEndpoints() async throws -> [WebhookEndpoint] { try await endpoints("") }

    func webhookEndpoint(id: Int64) async throws -> WebhookEndpoint? {
        try await endpoints("WHERE id = $1", id).first
    }

    func webhookSecret(endpointID: Int64) async throws -> String? {
        try await rows("SELECT secret FROM webhook_endpoint WHERE id = \(endpointID)").first?.decode(String.self)
    }

    func insertWebhookEndpoint(url: String, secret: String, events: String, at time: Date) async throws -> Int64 {
        try await rows(
            """
            INSERT INTO webhook_endpoint (url, secret, events, created_at) VALUES (\(url), \(secret), \(events), \(time))
            RETURNING id
            """
        ).first!.decode(Int64.self)
    }

    func deleteWebhookEndpoint(id: Int64) async throws -> Bool {
        try await run("DELETE FROM webhook_endpoint WHERE id = \(id)") > 0
    }

    func setWebhookEndpointHealth(id: Int64, failingSince: Date?, disabledAt: Date?, disabledReason: String?)
        async throws
    {
        try await run(
            """
            UPDATE webhook_endpoint SET failing_since = \(failingSince), disabled_at = \(disabledAt),
                disabled_reason = \(disabledReason)
            WHERE id = \(id)
            """)
    }

    func insertWebhookEvent(type: String, body: String, at time: Date) async throws -> Int64 {
        try await rows(
            "INSERT INTO webhook_event (type, body, created_at) VALUES (\(type), \(body), \(time)) RETURNING id"
        ).first!.decode(Int64.self)
    }

    func insertWebhookDelivery(messageID: String, eventID: Int64, endpointID: Int64, at time: Date) async throws {
        try await run(
            """
            INSERT INTO webhook_delivery (message_id, event_id, endpoint_id, state, created_at, next_attempt_at)
            VALUES (\(messageID), \(eventID), \(endpointID), 'pending', \(time), \(time))
            """)
    }

    func dueWebhookDeliveries(limit: Int, at time: Date) async throws -> [WebhookDelivery] {
        // SKIP LOCKED: several `serve` processes draining at once take different deliveries.
        try await rows(
            """
            SELECT d.id, d.message_id, d.endpoint_id, d.attempts, e.url, e.secret, v.type, v.body
            FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint_id
            JOIN webhook_event v ON v.id = d.event_id
            WHERE d.state = 'pending' AND d.next_attempt_at <= \(time) AND e.disabled_at IS NULL
            ORDER BY d.next_attempt_at, d.id LIMIT \(limit)
            FOR UPDATE OF d SKIP LOCKED
            """
        ).map { row in
            let (id, messageID, endpointID, attempts, url, secret, type, body) = try row.decode(
                (Int64, String, Int64, Int, String, String, String, String).self)
            return WebhookDelivery(
                id: id, messageID: messageID, endpointID: endpointID, url: url, secret: try WebhookSecret(secret),
                type: WebhookEventType(rawValue: type) ?? .test, body: body, attempt: attempts)
        }
    }

    func leaseWebhookDeliveries(ids: [Int64], until time: Date) async throws {
        try await run(
            "UPDATE webhook_delivery SET attempts = attempts + 1, next_attempt_at = \(time) WHERE id = ANY(\(ids))")
    }

    func updateWebhookDelivery(id: Int64, state: String, nextAttemptAt: Date?, deliveredAt: Date?) async throws {
        try await run(
            """
            UPDATE webhook_delivery SET state = \(state), next_attempt_at = COALESCE(\(nextAttemptAt), next_attempt_at),
                delivered_at = \(deliveredAt)
            WHERE id = \(id)
            """)
    }

    func rescheduleWebhookDeliveries(endpointID: Int64, at time: Date) async throws {
        try await run(
            "UPDATE webhook_delivery SET next_attempt_at = \(time) WHERE endpoint_id = \(endpointID) AND state = 'pending'"
        )
    }

    func insertWebhookAttempt(_ attempt: WebhookAttempt) async throws {
        try await run(
            """
            INSERT INTO webhook_attempt (endpoint_id, message_id, event_type, attempt, at, status, duration_ms, error)
            VALUES (\(attempt.endpointID), \(attempt.messageID), \(attempt.eventType), \(attempt.attempt),
                \(attempt.at), \(attempt.status), \(attempt.durationMilliseconds), \(attempt.error))
            """)
    }

    func webhookAttempts(endpointID: Int64?, before beforeID: Int64?, limit: Int) async throws -> [WebhookAttempt] {
        try await rows(
            """
            SELECT id, endpoint_id, message_id, event_type, attempt, at, status, duration_ms, error FROM webhook_attempt
            WHERE (\(endpointID)::bigint IS NULL OR endpoint_id = \(endpointID))
                AND (\(beforeID)::bigint IS NULL OR id < \(beforeID))
            ORDER BY id DESC LIMIT \(limit)
            """
        ).map { row in
            let (id, endpointID, messageID, type, attempt, at, status, duration, error) = try row.decode(
                (Int64, Int64, String, String, Int, Date, Int?, Int, String?).self)
            return WebhookAttempt(
                endpointID: endpointID, messageID: messageID, eventType: type, attempt: attempt, at: at,
                status: status, durationMilliseconds: duration, error: error, id: id)
        }
    }

    func pendingWebhookDeliveries() async throws -> [Int64: Int] {
        var counts: [Int64: Int] = [:]
        for row in try await rows(
            "SELECT endpoint_id, COUNT(*) FROM webhook_delivery WHERE state = 'pending' GROUP BY endpoint_id")
        {
            let (id, count) = try row.decode((Int64, Int).self)
            counts[id] = count
        }
        return counts
    }
}
