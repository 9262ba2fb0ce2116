import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The owner's page of API keys: each key's name, scope, dates and state, never the key itself.
struct EditorKeysPageTests {
    let store: AppDatabase
    static let token = "editor-token-keys"

    init() throws {
        store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
    }

    func page(_ uri: String) async throws -> String {
        try await TestServer.app(store: store) { $0.editor.token = Self.token }.test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(Self.token)"]) {
                #expect($0.status == .ok)
                return String(buffer: $0.body)
            }
        }
    }

    @Test func theKeysPageListsEveryKeyWithItsScopeAndStateAndNeverTheKey() async throws {
        #expect(try await page("/editor/keys").contains("No keys yet."))
        let made = Date(timeIntervalSince1970: 1_796_000_000)
        let (_, cms) = try await store.createAPIKey(name: "cms", scope: .write, at: made)
        let (_, old) = try await store.createAPIKey(name: "old-crm", scope: .admin, at: made)
        #expect(try await store.revokeAPIKey(name: "old-crm", at: made.addingTimeInterval(60)))
        let keys = try await page("/editor/keys")
        #expect(keys.contains("<td>cms</td><td>write</td>"))
        #expect(keys.contains("<td>old-crm</td><td>admin</td>"))
        #expect(keys.contains("revoked \(WebhookEvent.timestamp(made.addingTimeInterval(60)))"))
        #expect(keys.contains("never"))
        // The key not revoked says so, and says nothing of revoking.
        let cmsRow = try #require(keys.components(separatedBy: "<tr>").first { $0.contains("<td>cms</td>") })
        #expect(cmsRow.contains("<td>active</td>") && !cmsRow.contains("revoked"))
        #expect(!keys.contains(cms) && !keys.contains(old))
        #expect(!keys.contains(String(cms.dropFirst(APIKeySecret.prefix.count).prefix(12))))
        // Owners find it from every editor page.
        #expect(try await page("/editor/issues").contains("<a href=\"/editor/keys\""))
    }
}
