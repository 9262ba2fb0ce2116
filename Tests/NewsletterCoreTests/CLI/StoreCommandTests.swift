import Foundation
import NewsletterCore
import Testing

/// `newsletter store migrate` and the store settings, through the built binary against the
/// test run's PostgreSQL cluster.
@Suite("newsletter store")
struct StoreCommandTests {
    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    func run(_ arguments: [String], environment extra: [String: String]) async throws -> CommandLineTests.Run {
        let directory = self.directory
        return try await Blocking.run {
            let process = Process()
            process.executableURL = CommandLineTests.executable
            process.arguments = arguments
            process.currentDirectoryURL = directory
            var environment = ProcessInfo.processInfo.environment
            environment.merge(extra) { $1 }
            process.environment = environment
            return try CommandLineTests.collect(process)
        }
    }

    @Test func migrateCreatesTheSchemaOnceAndSaysSo() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let url = PostgresCluster.url(location)
        let first = try await run(["store", "migrate"], environment: ["NEWSLETTER_STORE_URL": url])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("schema version \(PostgresStore.knownSchemaVersion) (applied 1"))
        #expect(!first.stdout.contains(location.password!), "the password is never printed")
        let second = try await run(["store", "migrate"], environment: ["NEWSLETTER_STORE_URL": url])
        #expect(second.status == 0 && second.stdout.contains("up to date"), "\(second.stdout)\(second.stderr)")
    }

    @Test func configShowsTheStoreURLWithThePasswordMasked() async throws {
        let run = try await run(
            ["config"], environment: ["NEWSLETTER_STORE_URL": "postgresql://newsletter:hunter2-secret@db.example.org/list"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("store.url:               postgresql://newsletter:****@db.example.org:5432/list"))
        #expect(!run.stdout.contains("hunter2-secret"))
    }

    @Test func aRefusedPasswordExits78AndAnUnreachableServer74() async throws {
        var location = try await PostgresCluster.freshDatabase()
        location.password = "wrong-password-91c"
        let refused = try await run(["store", "migrate"], environment: ["NEWSLETTER_STORE_URL": PostgresCluster.url(location)])
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("refused the password"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("wrong-password-91c"))
        let unreachable = try await run(
            ["store", "migrate"], environment: ["NEWSLETTER_STORE_URL": "postgresql://u:p@127.0.0.1:1/d?sslmode=disable"])
        #expect(unreachable.status == 74, "\(unreachable.stderr)")
        #expect(unreachable.stderr.contains("cannot reach the PostgreSQL server at 127.0.0.1:1"))
        let malformed = try await run(["store", "migrate"], environment: ["NEWSLETTER_STORE_URL": "mysql://u@h/d"])
        #expect(malformed.status == 78)
        #expect(malformed.stderr.contains("NEWSLETTER_STORE_URL"), "\(malformed.stderr)")
    }

    @Test func migrateOnTheDefaultSQLiteStore() async throws {
        let run = try await run(["store", "migrate"], environment: [:])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("SQLite store") && run.stdout.contains("up to date"))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("subscribers/newsletter.sqlite").path))
    }
}
