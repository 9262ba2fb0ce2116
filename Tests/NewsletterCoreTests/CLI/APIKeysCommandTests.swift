import Foundation
import NewsletterCore
import Testing

/// `newsletter api-keys` through the built binary, on both stores: the key is printed once by
/// `create` and never again, a revoked key is listed as revoked, and both are in the audit log.
@Suite("newsletter api-keys", .runningStores)
struct APIKeysCommandTests {
    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    @Test(arguments: ["SQLite", "PostgreSQL"])
    func createPrintsTheKeyOnceListNeverAndRevokeEndsIt(_ backend: String) async throws {
        let environment =
            backend == "SQLite" ? [:] : ["NEWSLETTER_STORE_URL": PostgresCluster.url(try await PostgresCluster.freshDatabase())]
        let directory = self.directory
        func run(_ arguments: [String]) async throws -> CommandLineTests.Run {
            try await Blocking.run { try CommandLineTests.run(arguments, in: directory, environment: environment) }
        }
        let created = try await run(["api-keys", "create", "--name", "cms", "--scope", "write"])
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("nlk_") && key.count == 47 && !key.contains("\n"))
        #expect(created.stderr.contains("shown this once"))
        #expect(!created.stderr.contains("error:"))
        let again = try await run(["api-keys", "create", "--name", "cms", "--scope", "read"])
        #expect(again.status == 64 && again.stderr.contains("exists already"), "\(again.stderr)")
        #expect(try await run(["api-keys", "create", "--name", "x", "--scope", "root"]).status == 64)
        let listed = try await run(["api-keys", "list"])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("cms") && listed.stdout.contains("write") && listed.stdout.contains("active"))
        #expect(!listed.stdout.contains(key) && !listed.stdout.contains(String(key.dropFirst(4).prefix(8))))
        #expect(try await run(["api-keys", "revoke", "cms"]).status == 0)
        #expect(try await run(["api-keys", "list"]).stdout.contains("revoked"))
        let unknown = try await run(["api-keys", "revoke", "cms"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no active key"))
        // Made and revoked, each once, by the command line; the refusals are not recorded.
        let audit = try await run(["audit", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let entries = try decoder.decode([AuditEntry].self, from: Data(audit.stdout.utf8))
        #expect(entries.map(\.action) == [.apiKeyRevoke, .apiKeyCreate])
        #expect(entries.allSatisfy { $0.actor == "cli" && $0.subject == "api-key cms" })
        #expect(!audit.stdout.contains(key))
    }
}
