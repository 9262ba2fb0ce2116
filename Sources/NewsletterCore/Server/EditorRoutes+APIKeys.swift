import Foundation
import Hummingbird

/// `GET /editor/keys`: the API keys (name, scope, made, last used, revoked), for owners (the route
/// group's role check). Never the key itself: the store holds only its hash. Keys are made and
/// revoked with `newsletter api-keys`, which prints a new key once.
extension EditorRoutes {
    func registerAPIKeys<Context: EditorRequestContext>(on owners: RouterGroup<Context>) {
        owners.get("keys") { _, context in
            let keys = try await store.apiKeys()
            let values: [String: Any] = [
                "title": "API keys", "onKeys": true, "noKeys": keys.isEmpty,
                "keys": keys.map { key -> [String: Any] in
                    [
                        "name": key.name, "scope": key.scope.rawValue,
                        "created": WebhookEvent.timestamp(key.createdAt),
                        "lastUsed": key.lastUsedAt.map(WebhookEvent.timestamp) ?? "never",
                        // A flag, not the empty string: Mustache takes "" as true.
                        "isRevoked": key.revokedAt != nil,
                        "revokedAt": key.revokedAt.map(WebhookEvent.timestamp) ?? "",
                    ]
                },
            ]
            return editorPage("editor-keys", values.merging(try await navigation(current: nil, context)) { $1 })
        }
    }
}
