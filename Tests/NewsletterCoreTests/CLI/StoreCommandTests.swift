import Foundation
import NewsletterCore
import Testing

/// `newsletter store migrate` and the store settings, through the built binary against the
/// test run's PostgreSQL cluster.
@Suite("newsletter store", .runningStores)
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
            ["config"],
            environment: ["NEWSLETTER_STORE_URL": "postgresql://newsletter:hunter2-secret@db.example.org/list"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("store.url:               postgresql://newsletter:****@db.example.org:5432/list"))
        #expect(!run.stdout.contains("hunter2-secret"))
    }

    @Test func aRefusedPasswordExits78AndAnUnreachableServer74() async throws {
        var location = try await PostgresCluster.freshDatabase()
        location.password = "wrong-password-91c"
        let refused = try await run(
            ["store", "migrate"], environment: ["NEWSLETTER_STORE_URL": PostgresCluster.url(location)])
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("refused the password"), "\(refused.stderr)")
        #expect(!refused.stderr.contains("wrong-password-91c"))
        let unreachable = try await run(
            ["store", "migrate"],
            environment: ["NEWSLETTER_STORE_URL": "postgresql://u:p@127.0.0.1:1/d?sslmode=disable"])
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
        #expect(
            FileManager.default.fileExists(
                atPath: directory.appendingPathComponent("subscribers/newsletter.sqlite").path))
    }

    /// A SQLite store with something in most stages, written as the commands and the endpoint
    /// write it: the examples ingested (comparisons, takes, topics), imported and signed-up
    /// subscribers (consent, a token, the endpoint's queue), a week's ledger.
    func fillSQLiteStore() async throws -> AppDatabase {
        let ingest = try await run(["ingest", TestPaths.examples.path], environment: [:])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let store = try AppDatabase.open(path: directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let time = Date(timeIntervalSince1970: 1_795_000_000.25)
        for n in 1...40 {
            _ = try await store.importSubscriber(
                email: "reader\(n)@example.org", name: n == 3 ? "Zoë \"Z\" O'Brien" : nil, topics: nil,
                source: "import", at: time)
        }
        _ = try await store.requestSignup(
            try MailAddress("new@example.org"), name: "Ñew",
            client: ClientInfo(address: "192.0.2.1", userAgent: "test"),
            policy: SignupPolicy(), at: time)
        _ = try await store.newUnsubscribeToken(subscriberID: 1, at: time)
        let week = try IssueWeek(parsing: "2026-W48")
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        // One copy sent through a named relay, and that relay's health.
        let claimed = try await store.claimDeliveries(week, limit: 1, runStarted: time)
        try await store.recordDeliveries(
            week, [.sent(subscriberID: claimed[0].subscriber.id, messageID: "<m1@x>", reply: "250 ok", relay: "ses")])
        try await store.recordRelayHealth(
            RelayHealthRecord(
                name: "postmark", downUntil: time.addingTimeInterval(40), failures: 2, lastError: "421 busy",
                updatedAt: time))
        // An editor user with a session, and the audit log.
        let owner = try await store.addEditorUser(email: "ed@example.org", role: .owner, passwordHash: "$2b$04$x", at: time)
        try await store.addEditorSession(userID: owner.id, tokenHash: "s", expiresAt: time + 3600, at: time)
        try await store.recordAudit(AuditEntry(at: time, actor: "cli", action: .userAdd, subject: "ed@example.org"))
        return store
    }

    @Test func copyBringsEveryTableOverWithItsCountsAndRefusesAFullDatabase() async throws {
        let sqlite = try await fillSQLiteStore()
        let location = try await PostgresCluster.freshDatabase()
        let url = PostgresCluster.url(location)
        let copy = try await run(["store", "copy", "--to", url], environment: [:])
        #expect(copy.status == 0, "\(copy.stdout)\(copy.stderr)")
        #expect(copy.stdout.contains("every count matches"), "\(copy.stdout)")
        #expect(!copy.stdout.contains(location.password!) && !copy.stderr.contains(location.password!))
        // Every table, counted on both sides by their own tools, under the one name both use.
        for table in [
            "comparison", "take", "comparison_tool", "topic", "comparison_topic", "subscriber", "consent",
            "subscriber_token", "endpoint_mail", "delivery", "relay_health", "editor_user", "editor_session", "audit_log",
        ] {
            let expected = try await sqliteValue("SELECT COUNT(*) FROM \(table)")
            #expect((Int(expected) ?? 0) > 0, "the fixture has rows in \(table)")
            let copied = try await PostgresCluster.psql(location, "SELECT count(*) FROM \(table)")
            #expect(copied == "\(expected)", "\(table)")
            #expect(copy.stdout.contains("  \(table): \(expected) row"), "\(copy.stdout)")
        }
        // Values come over as they were: text, flags and times to the millisecond.
        let name = try await PostgresCluster.psql(
            location, "SELECT name FROM subscriber WHERE email = 'reader3@example.org'")
        #expect(name == "Zoë \"Z\" O'Brien")
        let published = try await PostgresCluster.psql(
            location, "SELECT to_char(min(published) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM comparison")
        #expect(published == "2026-11-17 09:00:00")
        let createdAt = try await PostgresCluster.psql(
            location,
            "SELECT extract(epoch FROM created_at)::numeric(20,3) FROM subscriber WHERE email = 'reader1@example.org'")
        #expect(createdAt == "1795000000.250")
        // The PostgreSQL store reads what was copied, and new rows get ids past the copied ones.
        let store = try await PostgresStore.openRunning(location)
        let copied = try #require(try await store.subscriber(email: "NEW@example.org"))
        #expect(copied.status == .pending && copied.name == "Ñew")
        let comparisons = try await sqlite.listComparisons()
        #expect(try await store.listComparisons() == comparisons)
        for summary in comparisons {
            let original = try await sqlite.comparison(id: summary.id)
            #expect(try await store.comparison(id: summary.id) == original, "comparison \(summary.id)")
        }
        // Which relay took each message, and how each relay stood.
        #expect(try await store.messagesPerRelay(try IssueWeek(parsing: "2026-W48")) == [RelayShare(relay: "ses", messages: 1)])
        #expect(try await store.relayHealth() == (try await sqlite.relayHealth()))
        // Editors log in to the new store as they did to the old one; the audit log reads the same.
        #expect(try await store.editorSession(tokenHash: "s", at: Date(timeIntervalSince1970: 1_795_000_001))?.role == .owner)
        #expect(try await store.auditEntries(subject: nil, limit: 5) == (try await sqlite.auditEntries(subject: nil, limit: 5)))
        let added = try await store.addSubscriber(email: "later@example.org", name: nil, status: .confirmed)
        #expect(added.id > 41)

        // A second copy into the same database is refused and changes nothing.
        let again = try await run(["store", "copy", "--to", url], environment: [:])
        #expect(again.status == 78, "\(again.stdout)\(again.stderr)")
        #expect(again.stderr.contains("is not empty"), "\(again.stderr)")
        #expect(try await PostgresCluster.psql(location, "SELECT count(*) FROM subscriber") == "42")
    }

    @Test func aValueThatCannotBeCopiedNamesItsPlaceAndLeavesTheDatabaseEmpty() async throws {
        _ = try await fillSQLiteStore()
        // SQLite keeps what it is given: a line number that is not a number.
        _ = try await sqliteValue("UPDATE take SET line = 'twelve' WHERE id = 2")
        let location = try await PostgresCluster.freshDatabase()
        let copy = try await run(["store", "copy", "--to", PostgresCluster.url(location)], environment: [:])
        #expect(copy.status == 74, "\(copy.stdout)\(copy.stderr)")
        #expect(copy.stderr.contains("take.line holds") && copy.stderr.contains("twelve"), "\(copy.stderr)")
        #expect(copy.stderr.contains("nothing was copied"))
        // Rolled back: the tables exist (migrated), with nothing in them.
        let rows = try await PostgresCluster.psql(
            location,
            "SELECT (SELECT count(*) FROM comparison) + (SELECT count(*) FROM take) + (SELECT count(*) FROM subscriber)"
        )
        #expect(rows == "0")
    }

    @Test func copyNeedsATargetURLThatParses() async throws {
        let bad = try await run(["store", "copy", "--to", "mysql://u@h/d"], environment: [:])
        #expect(bad.status == 64, "\(bad.stderr)")
        #expect(bad.stderr.contains("--to") && bad.stderr.contains("scheme"), "\(bad.stderr)")
        let missing = try await run(
            ["store", "copy", "--to", "postgresql://u@127.0.0.1:1/d?sslmode=disable"], environment: [:])
        #expect(missing.status == 74, "\(missing.stderr)")
        #expect(missing.stderr.contains("no SQLite store"), "\(missing.stderr)")
    }

    /// `ingest` and `comparisons` on either backend print the same: the same pages, the same
    /// outcomes, the same records (their times aside).
    @Test func ingestAndComparisonsWorkTheSameOnBothBackends() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let postgres = ["NEWSLETTER_STORE_URL": PostgresCluster.url(location)]
        var printed: [[String]] = []
        for environment in [[:], postgres] {
            let ingest = try await run(["ingest", TestPaths.examples.path], environment: environment)
            #expect(ingest.status == 0, "\(ingest.stderr)")
            let again = try await run(["ingest", TestPaths.examples.path], environment: environment)
            #expect(again.status == 0 && again.stdout.contains("unchanged"), "\(again.stdout)")
            let list = try await run(["comparisons", "list", "--json"], environment: environment)
            let show = try await run(["comparisons", "show", "1", "--json"], environment: environment)
            #expect(list.status == 0 && show.status == 0, "\(list.stderr)\(show.stderr)")
            // Times differ between the two runs: when each store first saw the pages.
            let timeless = try show.stdout.replacing(Regex(#""(firstSeenAt|updatedAt)" *: *"[^"]*""#), with: "")
            printed.append([ingest.stdout, list.stdout, timeless])
        }
        #expect(printed[0] == printed[1])
        #expect(try await PostgresCluster.psql(location, "SELECT count(*) FROM comparison") == "2")
    }

    @Test func subscribersAddListAndRemoveWorkTheSameOnBothBackends() async throws {
        let location = try await PostgresCluster.freshDatabase()
        var printed: [[String]] = []
        for environment in [[:], ["NEWSLETTER_STORE_URL": PostgresCluster.url(location)]] {
            var outputs: [String] = []
            for arguments in [
                ["subscribers", "add", "ada@example.org", "--name", "Ada Lovelace"],
                ["subscribers", "add", "bob@example.org", "--status", "pending"],
                ["subscribers", "list"], ["subscribers", "remove", "ADA@example.org"], ["subscribers", "list"],
            ] {
                let run = try await run(arguments, environment: environment)
                #expect(run.status == 0, "\(arguments): \(run.stderr)")
                outputs.append(run.stdout)
            }
            let missing = try await run(["subscribers", "remove", "ada@example.org"], environment: environment)
            #expect(missing.status == 1 && missing.stderr.contains("is not a subscriber"), "\(missing.stderr)")
            printed.append(outputs)
        }
        #expect(printed[0] == printed[1])
        #expect(printed[1].last == "#2\tbob@example.org\tpending\t\n")
    }

    /// The SQLite store read (or changed) by Python's sqlite3, not through the code under test.
    func sqliteValue(_ sql: String) async throws -> String {
        let path = directory.appendingPathComponent("subscribers/newsletter.sqlite").path
        return try await Blocking.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", "-c",
                "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); rows = db.execute(sys.argv[2]).fetchall(); db.commit(); print(rows[0][0] if rows else '')",
                path, sql,
            ]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CocoaError(.fileReadUnknown) }
            return printed.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
