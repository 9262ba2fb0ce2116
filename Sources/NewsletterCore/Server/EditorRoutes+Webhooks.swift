import Foundation
import Hummingbird

/// `GET /editor/webhooks`: the endpoints, their health and the latest delivery attempts, for
/// owners (the route group's role check). Endpoints are managed with `newsletter webhooks`.
extension EditorRoutes {
    func registerWebhooks<Context: EditorRequestContext>(on owners: RouterGroup<Context>) {
        owners.get("webhooks") { _, context in
            let endpoints = try await store.webhookEndpoints()
            let pending = try await store.pendingWebhookDeliveries()
            let attempts = try await store.webhookAttempts(endpointID: nil, limit: 100)
            let values: [String: Any] = [
                "title": "Webhooks", "onWebhooks": true, "noEndpoints": endpoints.isEmpty,
                "endpoints": endpoints.map { endpoint -> [String: Any] in
                    [
                        "id": endpoint.id, "url": endpoint.url,
                        "events": endpoint.events.map(\.rawValue).joined(separator: ", "),
                        "pending": pending[endpoint.id] ?? 0, "enabled": endpoint.enabled,
                        "disabledAt": endpoint.disabledAt.map(EditorTime.text) ?? "",
                        "disabledReason": endpoint.disabledReason ?? "",
                        // A flag, not the empty string: Mustache takes "" as true.
                        "isFailing": endpoint.failingSince != nil,
                        "failingSince": endpoint.failingSince.map(EditorTime.text) ?? "",
                    ]
                },
                "noAttempts": attempts.isEmpty,
                "attempts": attempts.map { attempt -> [String: Any] in
                    [
                        "at": EditorTime.text(attempt.at), "endpoint": attempt.endpointID,
                        "type": attempt.eventType, "id": attempt.messageID, "attempt": attempt.attempt,
                        "status": attempt.status.map(String.init) ?? "—", "ms": attempt.durationMilliseconds,
                        "error": attempt.error ?? "", "ok": attempt.succeeded,
                    ]
                },
            ]
            return editorPage("editor-webhooks", values.merging(try await navigation(current: nil, context)) { $1 })
        }
    }

    /// The banner every editor page shows while an endpoint is disabled.
    func disabledWebhookBanner() async throws -> [String: Any] {
        let disabled = try await store.webhookEndpoints().filter { !$0.enabled }
        guard !disabled.isEmpty else { return [:] }
        return [
            "disabledWebhooks": disabled.map { ["id": $0.id, "url": $0.url, "reason": $0.disabledReason ?? ""] }
        ]
    }
}
