import Foundation
import Hummingbird

/// The owners' page of API keys (the route group's role check):
///
/// - `GET /editor/keys`: each key's name, scope, made, last used, revoked; never the key itself
///   (the store holds only its hash).
/// - `POST /editor/keys` (`name`, `scope`): makes a key and shows it on the answer's page, once.
/// - `POST /editor/keys/revoke` (`name`): revokes it; requests with it are refused from then on.
///
/// Both go through `APIKeyManagement`, as `newsletter api-keys` does, so each is audited under
/// the owner's address; each form carries the account form token.
extension EditorRoutes {
    func registerAPIKeys<Context: EditorRequestContext>(on owners: RouterGroup<Context>) {
        owners.get("keys") { _, context in
            try await keysPage(context)
        }
        owners.post("keys") { request, context in
            try await ownerAction(request, context) { fields, actor in
                let scopeText = fields["scope"] ?? ""
                guard let scope = APIScope(rawValue: scopeText) else {
                    throw BadRequest(status: 422, "the field \"scope\" must be read, write or admin, not \"\(scopeText.prefix(40))\"")
                }
                let name = fields["name"] ?? ""
                let (_, secret) = try await keys(actor).create(name: name, scope: scope)
                return try await keysPage(context, created: (name, scope, secret))
            }
        }
        owners.post("keys/revoke") { request, context in
            try await ownerAction(request, context) { fields, actor in
                let name = fields["name"] ?? ""
                guard try await keys(actor).revoke(name: name) else {
                    throw BadRequest(status: 404, "no active key is named \"\(name.prefix(100))\"; the list below shows the keys")
                }
                return try await keysPage(context, notice: "The key \"\(name)\" is revoked: requests with it are refused from now on.")
            }
        }
    }

    private func keys(_ actor: String) -> APIKeyManagement {
        APIKeyManagement(store: store, time: time, actor: actor)
    }

    /// The list, with a notice, or the key just made (shown on this page only: it is not stored).
    private func keysPage(
        _ context: some EditorRequestContext, notice: String? = nil,
        created: (name: String, scope: APIScope, secret: String)? = nil
    ) async throws -> Response {
        let keys = try await store.apiKeys()
        var values: [String: Any] = [
            "title": "API keys", "onKeys": true, "noKeys": keys.isEmpty,
            "keys": keys.map { key -> [String: Any] in
                [
                    "name": key.name, "scope": key.scope.rawValue,
                    "created": EditorTime.text(key.createdAt),
                    "lastUsed": key.lastUsedAt.map(EditorTime.text) ?? "never",
                    // A flag, not the empty string: Mustache takes "" as true.
                    "isRevoked": key.revokedAt != nil,
                    "revokedAt": key.revokedAt.map(EditorTime.text) ?? "",
                ]
            },
            "scopes": APIScope.allCases.map { ["name": $0.rawValue, "selected": $0 == .read] },
            "hasNotice": notice != nil, "notice": notice ?? "",
            "hasCreated": created != nil, "createdName": created?.name ?? "",
            "createdScope": created?.scope.rawValue ?? "", "createdKey": created?.secret ?? "",
        ]
        values.merge(try await navigation(current: nil, context)) { $1 }
        return editorPage("editor-keys", values)
    }
}
