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
    func theOnlyOwnerIsNeitherRemovedNorDemotedUntilAnotherOwnerExists(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addEditorUser(email: "ada@example.org", role: .owner, passwordHash: "h", at: now)
        _ = try await store.addEditorUser(email: "bob@example.org", role: .editor, passwordHash: "h", at: now)
        await #expect(throws: EditorAccountError.lastOwner("ada@example.org")) {
            try await store.removeEditorUser(email: "ADA@example.org")
        }
        for role in [EditorRole.editor, .viewer] {
            await #expect(throws: EditorAccountError.lastOwner("ada@example.org")) {
                try await store.setEditorRole(email: "ada@example.org", role: role)
            }
        }
        #expect(try await store.setEditorRole(email: "ada@example.org", role: .owner))
        #expect(try await store.editorUsers().map(\.role) == [.owner, .editor])
        // Others come and go as before.
        #expect(try await store.removeEditorUser(email: "bob@example.org"))
        _ = try await store.addEditorUser(email: "bob@example.org", role: .owner, passwordHash: "h", at: now)
        #expect(try await store.setEditorRole(email: "ada@example.org", role: .viewer))
        await #expect(throws: EditorAccountError.lastOwner("bob@example.org")) {
            try await store.removeEditorUser(email: "bob@example.org")
        }
        #expect(try await store.editorOwnerExists())
    }

    @Test(arguments: StoreBackend.all)
    func twoOwnersRemovedOrDemotedAtOnceLeaveOne(_ backend: StoreBackend) async throws {
        for round in 0..<4 {
            let store = try await backend.makeStore()
            for email in ["ada@example.org", "bob@example.org"] {
                _ = try await store.addEditorUser(email: email, role: .owner, passwordHash: "h", at: now)
            }
            // Each alone would be allowed (there are two owners); together, one is refused.
            async let removed = try? store.removeEditorUser(email: "ada@example.org")
            async let demoted = try? store.setEditorRole(email: "bob@example.org", role: .viewer)
            let outcomes = [await removed, await demoted]
            #expect(outcomes.filter { $0 == true }.count == 1, "round \(round): \(outcomes)")
            #expect(try await store.editorUsers().filter { $0.role == .owner }.count == 1, "round \(round)")
        }
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
