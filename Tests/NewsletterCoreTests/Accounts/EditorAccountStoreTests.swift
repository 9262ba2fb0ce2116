import Foundation
import Testing

@testable import NewsletterCore

/// What every store does with editor users, invitations, sessions and the audit log, on both
/// backends.
@Suite("EditorAccountStore contract", .runningStores)
struct EditorAccountStoreTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: StoreBackend.all)
    func aUserIsAddedOnceWhateverTheCaseOfTheAddressAndListedWithItsRole(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        #expect(try await store.editorOwnerExists() == false)
        let ada = try await store.addEditorUser(email: "Ada@example.org", role: .owner, passwordHash: "h", at: now)
        #expect(ada.role == .owner && ada.hasPassword)
        await #expect(throws: EditorAccountError.exists("ada@EXAMPLE.org")) {
            try await store.addEditorUser(email: "ada@EXAMPLE.org", role: .viewer, passwordHash: nil, at: now)
        }
        _ = try await store.addEditorUser(email: "bob@example.org", role: .viewer, passwordHash: nil, at: now)
        #expect(try await store.editorUsers().map(\.email) == ["Ada@example.org", "bob@example.org"])
        #expect(try await store.editorUsers().map(\.hasPassword) == [true, false])
        #expect(try await store.editorOwnerExists())
        let credentials = try #require(try await store.editorCredentials(email: "ADA@example.org"))
        #expect(credentials.passwordHash == "h" && credentials.user.id == ada.id)
    }

    @Test(arguments: StoreBackend.all)
    func aSessionAnswersUntilItExpiresOrItsUserIsRemoved(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addEditorUser(email: "ada@example.org", role: .editor, passwordHash: "h", at: now)
        try await store.addEditorSession(userID: ada.id, tokenHash: "s1", expiresAt: now + 3600, at: now)
        #expect(try await store.editorSession(tokenHash: "s1", at: now + 3599)?.email == "ada@example.org")
        #expect(try await store.editorSession(tokenHash: "s1", at: now + 3600) == nil)
        #expect(try await store.editorSession(tokenHash: "forged", at: now) == nil)
        #expect(try await store.setEditorRole(email: "ada@example.org", role: .viewer))
        #expect(try await store.editorSession(tokenHash: "s1", at: now)?.role == .viewer)
        try await store.removeEditorSession(tokenHash: "s1")
        #expect(try await store.editorSession(tokenHash: "s1", at: now) == nil)

        try await store.addEditorSession(userID: ada.id, tokenHash: "s2", expiresAt: now + 3600, at: now)
        #expect(try await store.removeEditorUser(email: "ada@example.org"))
        #expect(try await store.editorSession(tokenHash: "s2", at: now) == nil)
        #expect(try await store.removeEditorUser(email: "ada@example.org") == false)
        #expect(try await store.setEditorRole(email: "ada@example.org", role: .owner) == false)
    }

    @Test(arguments: StoreBackend.all)
    func anInvitationSetsThePasswordOnceAndNotAfterItExpires(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addEditorUser(email: "cy@example.org", role: .viewer, passwordHash: nil, at: now)
        try await store.addEditorInvitation(email: "cy@example.org", tokenHash: "old", expiresAt: now + 60, at: now)
        try await store.addEditorInvitation(email: "cy@example.org", tokenHash: "i1", expiresAt: now + 60, at: now)
        // A new link spends the older one.
        #expect(try await store.editorInvitation(tokenHash: "old", at: now) == nil)
        #expect(try await store.redeemEditorInvitation(tokenHash: "i1", passwordHash: "p", at: now + 60) == nil)
        #expect(try await store.editorCredentials(email: "cy@example.org")?.passwordHash == nil)
        #expect(try await store.redeemEditorInvitation(tokenHash: "i1", passwordHash: "p", at: now + 59)?.hasPassword == true)
        #expect(try await store.editorCredentials(email: "cy@example.org")?.passwordHash == "p")
        #expect(try await store.redeemEditorInvitation(tokenHash: "i1", passwordHash: "q", at: now) == nil)
        await #expect(throws: EditorAccountError.noSuchUser("nobody@example.org")) {
            try await store.addEditorInvitation(email: "nobody@example.org", tokenHash: "i2", expiresAt: now + 60, at: now)
        }
    }

    @Test(arguments: StoreBackend.all)
    func theAuditLogKeepsEachEntryNewestFirstAndBySubject(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let time = ManualTime(now)
        let log = AuditLog(store: store, time: time)
        try await log.record(actor: "ada@example.org", action: .approve, subject: "2026-W47", detail: "hash ab12")
        time.advance(by: .seconds(60))
        try await log.record(actor: "cli", action: .userAdd, subject: "bob@example.org", detail: "role <viewer>")
        time.advance(by: .seconds(60))
        try await log.record(actor: "token", action: .rebuild, subject: "2026-W47")
        let all = try await store.auditEntries(subject: nil, limit: 10)
        #expect(all.map(\.action) == [.rebuild, .userAdd, .approve])
        #expect(all.map(\.at) == [now + 120, now + 60, now])
        #expect(all[1].detail == "role <viewer>" && all[1].actor == "cli")
        #expect(try await store.auditEntries(subject: "2026-W47", limit: 10).map(\.actor) == ["token", "ada@example.org"])
        #expect(try await store.auditEntries(subject: nil, limit: 1).count == 1)
    }
}
