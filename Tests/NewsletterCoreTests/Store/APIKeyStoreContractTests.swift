import Foundation
import GRDB
import Testing

@testable import NewsletterCore

/// What every `APIKeyStore` does, on both backends: a key is found by itself only (the store
/// keeps its hash), names are unique, and a revoked key stays listed, revoked.
@Suite("APIKeyStore contract", .runningStores)
struct APIKeyStoreContractTests {
    let created = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreBackend.all)
    func aKeyIsFoundByItselfListedWithoutItAndRevokedByName(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let (key, secret) = try await store.createAPIKey(name: "cms", scope: .write, at: created)
        #expect(secret.hasPrefix("nlk_") && secret.count == 47)
        #expect(try await store.apiKey(secret: secret) == key)
        #expect(try await store.apiKey(secret: APIKeySecret.make()) == nil)
        #expect(try await store.apiKey(secret: String(secret.dropLast()) + "x") == nil)
        #expect(try await store.apiKeys().map(\.name) == ["cms"])
        #expect(key.lastUsedAt == nil)
        try await store.recordAPIKeyUse(id: key.id, at: created.addingTimeInterval(5))
        #expect(try await store.apiKey(secret: secret)?.lastUsedAt == created.addingTimeInterval(5))
        #expect(try await store.revokeAPIKey(name: "cms", at: created.addingTimeInterval(9)))
        #expect(try await !store.revokeAPIKey(name: "cms", at: created.addingTimeInterval(10)))
        #expect(try await store.apiKey(secret: secret)?.revokedAt == created.addingTimeInterval(9))
        #expect(try await store.apiKeys().count == 1)
    }

    @Test(arguments: StoreBackend.all)
    func aNameIsTakenOnceAndABadNameIsRefusedWithNothingStored(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.createAPIKey(name: "crm", scope: .read, at: created)
        await #expect(throws: APIKeyError.nameTaken("crm")) {
            try await store.createAPIKey(name: "crm", scope: .admin, at: created)
        }
        for bad in ["", " padded", String(repeating: "n", count: 101), "tab\there"] {
            await #expect(throws: APIKeyError.invalidName(bad)) {
                try await store.createAPIKey(name: bad, scope: .read, at: created)
            }
        }
        #expect(try await store.apiKeys().map(\.scope) == [.read])
    }

    @Test func theSQLiteFileHoldsTheKeysHashNotTheKey() async throws {
        let path = try TestPaths.temporaryDirectory().appendingPathComponent("keys.sqlite").path
        let store = try AppDatabase.open(path: path)
        let secret = try await store.createAPIKey(name: "cms", scope: .write, at: created).secret
        let stored = try await store.read { db in try String.fetchAll(db, sql: "SELECT key_hash FROM api_key") }
        #expect(stored == [APIKeySecret.hash(secret)])
        #expect(!stored.contains(secret))
    }
}
