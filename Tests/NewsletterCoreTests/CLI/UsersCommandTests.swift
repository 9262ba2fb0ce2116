import Foundation
import Testing

@testable import NewsletterCore

/// `newsletter users` and `newsletter audit` through the built executable: the password from
/// standard input, never an argument, and each change in the audit log with actor `cli`.
struct UsersCommandTests {
    let cli: CommandLineTests

    init() throws {
        cli = try CommandLineTests()
        try """
        [editor]
        bcrypt_cost = 4
        """.write(to: cli.directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
    }

    func users() async throws -> [EditorUser] {
        let listed = try await cli.run(["users", "list", "--json"])
        #expect(listed.status == 0, "\(listed.stderr)")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode([EditorUser].self, from: Data(listed.stdout.utf8))
    }

    @Test func addReadsThePasswordFromStandardInputAndEachChangeIsAudited() async throws {
        let added = try await CommandLineTests.run(
            ["users", "add", "ada@example.org", "--role", "editor"], in: cli.directory, input: "a long passphrase\n")
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try await users().map(\.role) == [.editor])
        let store = try AppDatabase.open(path: cli.directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let hash = try #require(try await store.editorCredentials(email: "ada@example.org")?.passwordHash)
        #expect(try await EditorPassword(cost: 4).verify("a long passphrase", hash: hash))

        #expect(try await cli.run(["users", "role", "ada@example.org", "viewer"]).status == 0)
        #expect(try await users().map(\.role) == [.viewer])
        let again = try await CommandLineTests.run(
            ["users", "add", "ADA@example.org", "--role", "editor"], in: cli.directory, input: "another passphrase\n")
        #expect(again.status == 1 && again.stderr.contains("exists already"), "\(again.stderr)")
        #expect(try await cli.run(["users", "remove", "ada@example.org"]).status == 0)
        #expect(try await users().isEmpty)
        let gone = try await cli.run(["users", "remove", "ada@example.org"])
        #expect(gone.status == 1 && gone.stderr.contains("no editor user"), "\(gone.stderr)")

        let audit = try await cli.run(["audit", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let entries = try decoder.decode([AuditEntry].self, from: Data(audit.stdout.utf8))
        #expect(entries.map(\.action) == [.userRemove, .userRole, .userAdd])
        #expect(entries.allSatisfy { $0.actor == "cli" && $0.subject == "ada@example.org" })
    }

    @Test func theOnlyOwnerIsNeitherRemovedNorDemotedAndTheRefusalSaysWhatToDo() async throws {
        #expect(try await cli.run(["users", "add", "ada@example.org", "--role", "owner", "--invite"]).status == 0)
        for arguments in [["users", "remove", "ada@example.org"], ["users", "role", "ada@example.org", "editor"]] {
            let refused = try await cli.run(arguments)
            #expect(refused.status == 1, "\(arguments): \(refused.stderr)")
            #expect(
                refused.stderr.contains(
                    "ada@example.org is the only owner, and the editor must keep one: make another user an owner first"),
                "\(refused.stderr)")
        }
        #expect(try await users().map(\.role) == [.owner])
        #expect(try await cli.run(["users", "add", "bob@example.org", "--role", "owner", "--invite"]).status == 0)
        #expect(try await cli.run(["users", "remove", "ada@example.org"]).status == 0)
        #expect(try await users().map(\.email) == ["bob@example.org"])
    }

    @Test func inviteStoresNoPasswordAndPrintsAOneTimeLinkWhoseHashAloneIsStored() async throws {
        let run = try await cli.run(["users", "add", "cy@example.org", "--role", "editor", "--invite"])
        #expect(run.status == 0, "\(run.stderr)")
        let token = String(try #require(run.stdout.firstMatch(of: /\/editor\/invite\/([A-Za-z0-9_-]{43})/)).1)
        #expect(try await users().map(\.hasPassword) == [false])
        let store = try AppDatabase.open(path: cli.directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        #expect(try await store.editorInvitation(tokenHash: token, at: Date()) == nil)
        #expect(try await store.editorInvitation(tokenHash: LinkToken.hash(token), at: Date())?.email == "cy@example.org")
    }

    @Test func aPasswordOfOneMegabyteIsAClearErrorAndStoresNothing() async throws {
        let run = try await CommandLineTests.run(
            ["users", "add", "ada@example.org", "--role", "owner"], in: cli.directory,
            input: String(repeating: "x", count: 1 << 20) + "\n")
        #expect(run.status == 1)
        #expect(run.stderr.contains("the password is 1048576 bytes; at most 72 are allowed"), "\(run.stderr)")
        #expect(try await users().isEmpty)
    }

    @Test func aPasswordIsNeverTakenFromTheCommandLine() async throws {
        let run = try await cli.run(["users", "add", "ada@example.org", "--role", "owner", "--password", "secret-pass-1"])
        #expect(run.status == 64, "\(run.stderr)")
        #expect(try await users().isEmpty)
    }

    @Test func anUnknownRoleIsAUsageErrorNamingTheChoices() async throws {
        let run = try await cli.run(["users", "add", "ada@example.org", "--role", "admin"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("owner, editor or viewer"), "\(run.stderr)")
    }
}
