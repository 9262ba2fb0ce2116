import Foundation
import NewsletterCore
import Testing

/// The PostgreSQL store against a real server (the test run's throwaway cluster): its schema,
/// its refusals, and what a lost connection does.
@Suite("PostgreSQL store", .runningStores)
struct PostgresStoreTests {
    @Test func migratingAFreshDatabaseAppliesEveryVersionOnceAndAgainNothing() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let store = try await PostgresStore.openRunning(location, opening: .connect)
        #expect(try await store.schemaVersion() == 0)
        #expect(try await store.migrate() == Array(1...PostgresStore.knownSchemaVersion))
        #expect(try await store.migrate() == [])
        #expect(try await store.schemaVersion() == PostgresStore.knownSchemaVersion)
        let rows = try await PostgresCluster.psql(location, "SELECT count(*) FROM newsletter_schema")
        #expect(rows == "\(PostgresStore.knownSchemaVersion)")
    }

    @Test func twoProcessesMigratingAtOnceApplyEachVersionOnce() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let first = try await PostgresStore.openRunning(location, opening: .connect)
        let second = try await PostgresStore.openRunning(location, opening: .connect)
        // Two tasks, as two processes would: the advisory lock makes one wait for the other.
        async let a = first.migrate()
        async let b = second.migrate()
        let applied = try await [a, b]
        #expect(applied.sorted { $0.count < $1.count } == [[], Array(1...PostgresStore.knownSchemaVersion)])
        let rows = try await PostgresCluster.psql(location, "SELECT count(*) FROM newsletter_schema")
        #expect(rows == "\(PostgresStore.knownSchemaVersion)")
    }

    @Test func aDatabaseWithSomeoneElsesTablesIsRefusedAndLeftAsItWas() async throws {
        let location = try await PostgresCluster.freshDatabase()
        try await PostgresCluster.psql(location, "CREATE TABLE invoices (id integer PRIMARY KEY)")
        let error = try await #require(throws: PostgresStoreError.self) {
            try await PostgresStore.openRunning(location)
        }
        guard case .notOurs(_, let tables) = error else {
            Issue.record("expected notOurs, got \(error)")
            return
        }
        #expect(tables == ["public.invoices"])
        #expect(error.exitStatus == .configurationError)
        #expect("\(error)".contains("invoices") && "\(error)".contains("nothing was written"))
        let ours = try await PostgresCluster.psql(
            location, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        #expect(ours == "1", "no table of ours was created")
    }

    @Test func aSchemaNewerThanThisBinaryIsRefusedAndNotTouched() async throws {
        let location = try await PostgresCluster.freshDatabase()
        _ = try await PostgresStore.openRunning(location)
        try await PostgresCluster.psql(
            location, "INSERT INTO newsletter_schema (version, name, applied_at) VALUES (999, 'from the future', now())"
        )
        let error = try await #require(throws: PostgresStoreError.self) {
            try await PostgresStore.openRunning(location)
        }
        guard case .schemaTooNew(_, let found, let known) = error else {
            Issue.record("expected schemaTooNew, got \(error)")
            return
        }
        #expect(found == 999 && known == PostgresStore.knownSchemaVersion)
        #expect(error.exitStatus == .configurationError)
        let versions = try await PostgresCluster.psql(
            location, "SELECT string_agg(version::text, ',' ORDER BY version) FROM newsletter_schema")
        #expect(
            versions == (Array(1...PostgresStore.knownSchemaVersion) + [999]).map(String.init).joined(separator: ","))
    }

    @Test func aRefusedPasswordSaysSoWithoutRepeatingIt() async throws {
        var location = try await PostgresCluster.freshDatabase()
        location.password = "not-the-password-7f3a"
        let target = location
        let error = try await #require(throws: PostgresStoreError.self) {
            try await PostgresStore.openRunning(target)
        }
        guard case .passwordRefused = error else {
            Issue.record("expected passwordRefused, got \(error)")
            return
        }
        #expect(error.exitStatus == .configurationError)
        #expect("\(error)".contains("refused the password of user \"\(location.username)\""))
        #expect(!"\(error)".contains("not-the-password-7f3a"))
    }

    @Test func aMissingDatabaseIsNamed() async throws {
        var location = try await PostgresCluster.freshDatabase()
        location.database = "no_such_database_here"
        let target = location
        let error = try await #require(throws: PostgresStoreError.self) {
            try await PostgresStore.openRunning(target)
        }
        guard case .noSuchDatabase = error else {
            Issue.record("expected noSuchDatabase, got \(error)")
            return
        }
        #expect("\(error)".contains("no_such_database_here"))
        #expect(error.exitStatus == .configurationError)
    }

    @Test func aServerThatIsNotThereIsUnreachableExit74() async throws {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let location = PostgresLocation(
            host: "127.0.0.1", port: 1, username: "newsletter", password: "x", database: "newsletter", tls: .disable)
        let error = try await #require(throws: PostgresStoreError.self) {
            try await PostgresStore.openRunning(location)
        }
        guard case .unreachable = error else {
            Issue.record("expected unreachable, got \(error)")
            return
        }
        #expect(error.exitStatus == .storeError)
        #expect("\(error)".contains("127.0.0.1:1"))
    }

    @Test func aServerThatStopsAnsweringFailsTheCallAfterQueryTimeoutAndTheNextCallWorks() async throws {
        var impatient = try await PostgresCluster.freshDatabase()
        // Short, but not so short that a busy machine's answer to the calls around the stall
        // comes too late.
        impatient.queryTimeout = 3
        let location = impatient
        let store = try await PostgresStore.openRunning(location)
        let week = try IssueWeek(parsing: "2026-W48")
        // One call first, so the store holds an idle connection: the one that will stall.
        _ = try await store.liveSenders(week, at: Date())
        let server = try await PostgresCluster.serverURL()
        let backends = try await PostgresCluster.psql(
            server, "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE datname = '\(location.database)'")
        let pids = backends.split(separator: " ").compactMap { pid_t($0) }
        #expect(!pids.isEmpty)
        // SIGSTOP: the backend neither answers nor closes the socket, as a hung host would.
        for pid in pids { #expect(kill(pid, SIGSTOP) == 0) }
        let outcome: Result<[SenderStatus], PostgresStoreError>
        do { outcome = .success(try await store.liveSenders(week, at: Date())) } catch {
            outcome = .failure(error as? PostgresStoreError ?? .other("\(error)"))
        }
        for pid in pids { kill(pid, SIGCONT) }
        guard case .failure(let error) = outcome, case .timedOut(_, let seconds) = error else {
            Issue.record("expected a time-out, got \(outcome)")
            return
        }
        #expect(seconds == 3)
        #expect(error.exitStatus == .storeError)
        #expect("\(error)".contains("query_timeout"))
        // The stalled connection was closed, not kept: the next call opens a new one.
        #expect(try await store.liveSenders(week, at: Date()).isEmpty)
    }

    /// The summaries are stamped by the store's clock, as every other row is, not by the host's.
    @Test func summariesAreStampedByTheStoresClock() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let clock = ManualTime(Date(timeIntervalSince1970: 1_700_000_000))
        let store = try await PostgresStore.openRunning(location, clock: clock)
        let key = SummaryCacheKey(model: "m", promptVersion: "p", sourceHash: "h")
        try await store.saveSummary(
            PanelSummary(text: "Two ship.", provider: "extractive", kind: .extractive), for: key)
        let comparison = try await store.saveComparison(
            try StoreFixtures.comparison("A", published: "2026-11-24T10:00:00Z")
        ).id
        try await store.saveSummaryOverride(
            week: try IssueWeek(parsing: "2026-W48"), comparisonID: comparison, text: "The editor's.")
        let stamps = try await PostgresCluster.psql(
            location,
            """
            SELECT (SELECT extract(epoch FROM created_at)::bigint FROM summary) || ' '
                || (SELECT extract(epoch FROM updated_at)::bigint FROM summary_override)
            """)
        #expect(stamps == "1700000000 1700000000")
    }

    @Test func aConnectionTheServerClosedIsReplacedOnTheNextCall() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let store = try await PostgresStore.openRunning(location)
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        // An administrator (or a server restart) ends every session of the store.
        let ended = try await PostgresCluster.psql(
            try await PostgresCluster.serverURL(),
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(location.database)'")
        #expect(Int(ended) ?? 0 >= 1)
        // Ended while the store was idle: a session killed under a write would fail it, as it must.
        try await PostgresCluster.until("the ended sessions are gone") {
            try await PostgresCluster.psql(
                location, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()") == "1"
        }
        // A read, and a write, both go through on a new connection.
        #expect(try await store.subscriber(id: ada.id) == ada)
        try await store.setStatus(.unsubscribed, forSubscriber: ada.id)
        #expect(try await store.subscriber(id: ada.id)?.status == .unsubscribed)
    }
}

/// The store's pool runs only inside its structured scope (`withStore`, or a ServiceGroup).
@Suite("PostgreSQL store lifecycle")
struct PostgresStoreLifecycleTests {
    /// The server's sessions on `location`'s database, other than the asker's.
    func sessions(_ location: PostgresLocation) async throws -> Int {
        Int(
            try await PostgresCluster.psql(
                try await PostgresCluster.serverURL(),
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '\(location.database)' AND pid <> pg_backend_pid()"
            )) ?? -1
    }

    @Test func withStoreRunsThePoolWhileItsBodyRunsAndThenClosesEveryConnection() async throws {
        let location = try await PostgresCluster.freshDatabase()
        let (store, inside) = try await PostgresStore.withStore(location) { store in
            _ = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
            return (store, try await sessions(location))
        }
        #expect(inside >= 1, "the pool's connection while the body ran")
        try await PostgresCluster.until("the pool's connections are closed") { try await sessions(location) == 0 }
        // Used afterwards, the store says it stopped; it does not wait for a pool nobody runs.
        let error = try await #require(throws: PostgresStoreError.self) {
            try await store.subscriberCount(status: nil)
        }
        #expect("\(error)".contains("stopped running"), "\(error)")
    }

    @Test func aBodyThatThrowsStillShutsThePoolDown() async throws {
        let location = try await PostgresCluster.freshDatabase()
        struct Stop: Error {}
        await #expect(throws: Stop.self) {
            try await PostgresStore.withStore(location) { store in
                _ = try await store.subscriberCount(status: nil)
                throw Stop()
            }
        }
        try await PostgresCluster.until("the pool's connections are closed") { try await sessions(location) == 0 }
    }
}

@Suite("Store location")
struct StoreLocationTests {
    @Test func aPostgresURLIsReadWithItsPartsAndPrintedMasked() throws {
        let location = try PostgresLocation.parse(
            "postgresql://news%40letter:s3cr%2Ft@db.example.org:6543/list?sslmode=verify-full&sslrootcert=/etc/ca.pem")
        #expect(location.username == "news@letter")
        #expect(location.password == "s3cr/t")
        #expect(location.host == "db.example.org" && location.port == 6543 && location.database == "list")
        #expect(location.tls == .verifyFull && location.rootCertificate == "/etc/ca.pem")
        #expect(!location.description.contains("s3cr"))
        #expect(location.description.contains("****@db.example.org:6543/list"))
    }

    @Test func thePasswordMayComeFromTheEnvironmentAndTheDefaultsAreLibpqs() throws {
        let location = try PostgresLocation.parse("postgres://newsletter@db/list", passwordFallback: "from-env")
        #expect(location.password == "from-env" && location.port == 5432 && location.tls == .prefer)
        let own = try PostgresLocation.parse("postgres://newsletter:in-url@db/list", passwordFallback: "from-env")
        #expect(own.password == "in-url")
        #expect(own.connectTimeout == PostgresLocation.defaultConnectTimeout)
        #expect(own.queryTimeout == PostgresLocation.defaultQueryTimeout)
        #expect(!own.description.contains("timeout"), "defaults are not printed")
    }

    @Test func theTimeoutsAreReadFromTheURLAndPrinted() throws {
        let location = try PostgresLocation.parse("postgresql://u@db/list?connect_timeout=3&query_timeout=45")
        #expect(location.connectTimeout == 3 && location.queryTimeout == 45)
        #expect(location.description.hasSuffix("?sslmode=prefer&connect_timeout=3&query_timeout=45"))
    }

    @Test(arguments: [
        ("mysql://u@h/d", "scheme"), ("postgresql:///d", "no host"), ("postgresql://h/d", "no user name"),
        ("postgresql://u@h", "no database"), ("postgresql://u@h/d?sslmode=sometimes", "sslmode \"sometimes\""),
        ("postgresql://u@h/d?pool=3", "unknown parameter \"pool\""),
        ("postgresql://u@h/d?query_timeout=0", "query_timeout \"0\""),
        ("postgresql://u@h/d?connect_timeout=soon", "connect_timeout \"soon\""),
    ])
    func aBadURLSaysWhatIsWrong(_ url: String, _ reason: String) throws {
        let error = try #require(throws: StoreLocationError.self) { try PostgresLocation.parse(url) }
        #expect(error.description.contains(reason), "\(error)")
    }

    @Test func storeURLSelectsPostgresAndTheEnvironmentWins() throws {
        let directory = try TestPaths.temporaryDirectory()
        let file = directory.appendingPathComponent("newsletter.toml").path
        try "[store]\nurl = \"postgresql://newsletter@file-host/list\"\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try Configuration.load(path: file, environment: ["NEWSLETTER_STORE_PASSWORD": "pw"])
        #expect(fromFile.store == .postgres(try PostgresLocation.parse("postgresql://newsletter:pw@file-host/list")))
        let fromEnvironment = try Configuration.load(
            path: file, environment: ["NEWSLETTER_STORE_URL": "postgresql://other@env-host/list2"])
        #expect(fromEnvironment.storeURL?.host == "env-host")
        #expect(
            try Configuration.load(path: nil, environment: [:], workingDirectory: directory.path + "/none").store
                == .sqlite(path: directory.path + "/none/subscribers/newsletter.sqlite"))
        let error = try #require(throws: ConfigurationError.self) {
            try Configuration.load(path: file, environment: ["NEWSLETTER_STORE_URL": "postgresql://nohost"])
        }
        #expect("\(error)".contains("NEWSLETTER_STORE_URL"))
        try "[store]\nurl = \"http://x/y\"\n".write(toFile: file, atomically: true, encoding: .utf8)
        let fileError = try #require(throws: ConfigurationError.self) {
            try Configuration.load(path: file, environment: [:])
        }
        #expect("\(fileError)".contains("store.url"))
    }
}
