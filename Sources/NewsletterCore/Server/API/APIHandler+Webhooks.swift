import Foundation
import NewsletterAPI
import OpenAPIRuntime

/// The webhook endpoints, as `newsletter webhooks` and the editor's page see and change them:
/// every change goes through `WebhookManagement` (the target policy, the audit under
/// `api-key:NAME`), every read through the store. `APIGate` lets only admin keys in here.
extension APIHandler {
    /// `WebhookManagement` acting for the request's key.
    var webhookManagement: WebhookManagement {
        WebhookManagement(store: store, settings: webhooks, time: time, actor: actor)
    }

    func listWebhooks(_ input: Operations.ListWebhooks.Input) async throws -> Operations.ListWebhooks.Output {
        let after = try APICursor.afterID(input.query.cursor)
        let rest = try await store.webhookEndpoints().sorted { $0.id < $1.id }.filter { $0.id > after }
        let page = rest.prefix(input.query.limit ?? Self.defaultPageSize)
        let pending = try await store.pendingWebhookDeliveries()
        let next = rest.count > page.count ? page.last.map { APICursor.cursor(after: $0.id) } : nil
        return .ok(
            .init(
                body: .json(
                    .init(items: page.map { Self.schema($0, pending: pending[$0.id] ?? 0) }, nextCursor: next))))
    }

    func createWebhook(_ input: Operations.CreateWebhook.Input) async throws -> Operations.CreateWebhook.Output {
        guard case .json(let body) = input.body else { throw APIProblem(.unsupportedMediaType, "send JSON") }
        let events = try Self.eventTypes(body.events)
        let added: (WebhookEndpoint, WebhookSecret)
        do {
            added = try await webhookManagement.add(url: body.url, events: events)
        } catch let refusal as WebhookTargetRefusal {
            throw APIProblem.badRequest("\(refusal)", field: "url")
        }
        let (endpoint, secret) = added
        // The one place the secret is ever shown: the store keeps it for signing only.
        return .created(
            .init(body: .json(.init(value1: Self.schema(endpoint, pending: 0), value2: .init(secret: secret.text)))))
    }

    func getWebhook(_ input: Operations.GetWebhook.Input) async throws -> Operations.GetWebhook.Output {
        .ok(.init(body: .json(try await endpointSchema(input.path.id))))
    }

    func deleteWebhook(_ input: Operations.DeleteWebhook.Input) async throws -> Operations.DeleteWebhook.Output {
        guard try await webhookManagement.remove(id: input.path.id) else { throw Self.noEndpoint(input.path.id) }
        return .noContent(.init())
    }

    func enableWebhook(_ input: Operations.EnableWebhook.Input) async throws -> Operations.EnableWebhook.Output {
        guard try await webhookManagement.enable(id: input.path.id) else { throw Self.noEndpoint(input.path.id) }
        return .ok(.init(body: .json(try await endpointSchema(input.path.id))))
    }

    func testWebhook(_ input: Operations.TestWebhook.Input) async throws -> Operations.TestWebhook.Output {
        guard let attempt = try await webhookManagement.test(endpointID: input.path.id) else {
            throw Self.noEndpoint(input.path.id)
        }
        return .ok(.init(body: .json(Self.schema(attempt))))
    }

    func listWebhookAttempts(_ input: Operations.ListWebhookAttempts.Input) async throws
        -> Operations.ListWebhookAttempts.Output
    {
        _ = try await endpoint(input.path.id)
        // Newest first: the cursor is the last (oldest) attempt handed out, the next page older.
        let before = try input.query.cursor.map { try APICursor.afterID($0) }
        let limit = input.query.limit ?? Self.defaultPageSize
        let attempts = try await store.webhookAttempts(endpointID: input.path.id, before: before, limit: limit + 1)
        let page = attempts.prefix(limit)
        let next = attempts.count > page.count ? page.last?.id.map(APICursor.cursor(after:)) : nil
        return .ok(.init(body: .json(.init(items: page.map(Self.schema), nextCursor: next))))
    }

    // MARK: - Helpers

    /// The events asked for, each once; absent, all of them.
    static func eventTypes(_ asked: [APISchemas.WebhookEventType]?) throws -> [WebhookEventType] {
        guard let asked else { return WebhookEventType.subscribable }
        guard !asked.isEmpty else {
            throw APIProblem.badRequest("name at least one event, or leave events out for all of them", field: "events")
        }
        var types: [WebhookEventType] = []
        // The document's names are the subscribable events' names (webhook.test is not among them).
        for type in asked.compactMap({ WebhookEventType(rawValue: $0.rawValue) }) where !types.contains(type) {
            types.append(type)
        }
        return types
    }

    static func noEndpoint(_ id: Int64) -> APIProblem { .notFound("no webhook endpoint has id \(id)") }

    func endpoint(_ id: Int64) async throws -> WebhookEndpoint {
        guard let (endpoint, _) = try await store.webhookEndpoint(id: id) else { throw Self.noEndpoint(id) }
        return endpoint
    }

    func endpointSchema(_ id: Int64) async throws -> APISchemas.WebhookEndpoint {
        let endpoint = try await endpoint(id)
        return Self.schema(endpoint, pending: try await store.pendingWebhookDeliveries()[id] ?? 0)
    }

    /// An endpoint as the API shows it: never its secret.
    static func schema(_ endpoint: WebhookEndpoint, pending: Int) -> APISchemas.WebhookEndpoint {
        APISchemas.WebhookEndpoint(
            id: endpoint.id, url: endpoint.url,
            events: endpoint.events.compactMap { APISchemas.WebhookEventType(rawValue: $0.rawValue) },
            enabled: endpoint.enabled, disabledAt: endpoint.disabledAt, disabledReason: endpoint.disabledReason,
            createdAt: endpoint.createdAt, failingSince: endpoint.failingSince, pending: pending)
    }

    static func schema(_ attempt: WebhookAttempt) -> APISchemas.WebhookAttempt {
        APISchemas.WebhookAttempt(
            endpointId: attempt.endpointID, webhookId: attempt.messageID, _type: attempt.eventType,
            attempt: attempt.attempt, at: attempt.at, status: attempt.status,
            durationMs: attempt.durationMilliseconds, error: attempt.error, succeeded: attempt.succeeded)
    }
}
