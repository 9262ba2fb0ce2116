import Foundation
import Testing

@testable import NewsletterCore

/// Keys made and revoked through `APIKeyManagement` (the CLI's and the keys page's one way)
/// are in the audit log under the actor who did it, on both stores; a refused change records
/// nothing, and the key itself is recorded nowhere.
@Suite("APIKeyManagement", .runningStores)
struct APIKeyManagementTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreBackend.all)
    func creatingAndRevokingAKeyIsAuditedUnderItsActorAndARefusalIsNot(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let time = ManualTime(now)
        let keys = APIKeyManagement(store: store, time: time, actor: "ada@example.org")
        let (key, secret) = try await keys.create(name: "cms", scope: .write)
        #expect(key.createdAt == now)
        await #expect(throws: APIKeyError.nameTaken("cms")) { try await keys.create(name: "cms", scope: .admin) }
        await #expect(throws: APIKeyError.invalidName(" cms")) { try await keys.create(name: " cms", scope: .read) }
        time.advance(by: .seconds(60))
        #expect(try await APIKeyManagement(store: store, time: time).revoke(name: "cms"))
        #expect(try await !keys.revoke(name: "cms"))
        #expect(try await !keys.revoke(name: "nothing"))

        let entries = try await store.auditEntries(subject: nil, limit: 10)
        #expect(entries.map(\.action) == [.apiKeyRevoke, .apiKeyCreate])
        #expect(entries.map(\.actor) == ["cli", "ada@example.org"])
        #expect(entries.map(\.subject) == ["api-key cms", "api-key cms"])
        #expect(entries.map(\.at) == [now + 60, now])
        #expect(entries.last?.detail == "scope write")
        #expect(!entries.contains { $0.detail.contains(secret) || $0.subject.contains(secret) })
        #expect(try await store.apiKeys().first?.revokedAt == now + 60)
    }
}
