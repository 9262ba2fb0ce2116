import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The owner's page of API keys: each key's name, scope, dates and state, never the key itself;
/// a key made there is shown once, on the answer's page; making and revoking need the page's
/// form token and are audited.
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

    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: String) async throws
        -> (status: HTTPResponse.Status, body: String)
    {
        try await client.execute(
            uri: uri, method: .post,
            headers: [.authorization: "Bearer \(token)", .contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: body)
        ) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func anOwnerMakesAKeyShownOnceAndRevokesItFromThePageEachAudited() async throws {
        try await TestServer.app(store: store) { $0.editor.token = Self.token }.test(.router) { client in
            let page = try await client.execute(uri: "/editor/keys", method: .get, headers: [.authorization: "Bearer \(Self.token)"]) {
                String(buffer: $0.body)
            }
            let formToken = String(
                try #require(page.firstMatch(of: /action="\/editor\/keys">\s*<input type="hidden" name="form_token" value="([^"]+)"/)).1)

            // Without the page's form token, or with a bad name or scope: refused, nothing made.
            for (body, status, says) in [
                ("name=cms&scope=write", HTTPResponse.Status.forbidden, "the form has no &quot;form_token&quot;"),
                ("form_token=\(formToken)&name=cms&scope=root", .unprocessableContent, "must be read, write or admin"),
                ("form_token=\(formToken)&name=+cms&scope=read", .unprocessableContent, "is not a usable key name"),
            ] {
                let refused = try await Self.post(client, "/editor/keys", body)
                #expect(refused.status == status, "\(body)")
                #expect(refused.body.contains(says), "\(body): \(refused.body)")
            }
            #expect(try await store.apiKeys().isEmpty)

            let made = try await Self.post(client, "/editor/keys", "form_token=\(formToken)&name=cms&scope=write")
            #expect(made.status == .ok, "\(made.body)")
            let secret = String(try #require(made.body.firstMatch(of: /<code>(nlk_[A-Za-z0-9_-]{43})<\/code>/)).1)
            #expect(try await store.apiKey(secret: secret)?.scope == .write)
            let again = try await client.execute(uri: "/editor/keys", method: .get, headers: [.authorization: "Bearer \(Self.token)"]) {
                String(buffer: $0.body)
            }
            #expect(again.contains("<td>cms</td><td>write</td>") && !again.contains(secret))

            let unknown = try await Self.post(client, "/editor/keys/revoke", "form_token=\(formToken)&name=nothing")
            #expect(unknown.status == .notFound && unknown.body.contains("no active key is named"))
            let revoked = try await Self.post(client, "/editor/keys/revoke", "form_token=\(formToken)&name=cms")
            #expect(revoked.status == .ok && revoked.body.contains("The key &quot;cms&quot; is revoked"), "\(revoked.body)")
            #expect(try await store.apiKeys().first?.revokedAt != nil)
        }
        let entries = try await store.auditEntries(subject: "api-key cms", limit: 10)
        #expect(entries.map(\.action) == [.apiKeyRevoke, .apiKeyCreate] && entries.allSatisfy { $0.actor == "token" })
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
        #expect(keys.contains("revoked \(EditorTime.text(made.addingTimeInterval(60)))"))
        #expect(keys.contains("never"))
        // The key not revoked says so, and says nothing of revoking.
        let cmsRow = try #require(keys.components(separatedBy: "<tr>").first { $0.contains("<td>cms</td>") })
        #expect(cmsRow.contains("<td>active <form") && !cmsRow.contains("revoked"))
        #expect(!keys.contains(cms) && !keys.contains(old))
        #expect(!keys.contains(String(cms.dropFirst(APIKeySecret.prefix.count).prefix(12))))
        // Owners find it from every editor page.
        #expect(try await page("/editor/issues").contains("<a href=\"/editor/keys\""))
    }
}
