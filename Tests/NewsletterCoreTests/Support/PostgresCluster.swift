import Foundation
@testable import NewsletterCore
import Synchronization

/// The throwaway PostgreSQL 15 cluster of a test run (scripts/pg-cluster.sh): the one `make
/// test` started (`NEWSLETTER_TEST_POSTGRES_URL`), or else one started here on first use and
/// stopped when the test process exits. Each suite or test gets a database of its own.
enum PostgresCluster {
    static let environmentKey = "NEWSLETTER_TEST_POSTGRES_URL"

    /// Whether a cluster can be had here: Debian's server binaries are installed.
    static var available: Bool {
        ProcessInfo.processInfo.environment[environmentKey] != nil
            || FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/pg_ctl")
    }

    /// The maintenance database's URL (`…/postgres`), with the cluster's superuser and password.
    static func serverURL() async throws -> String {
        try await Blocking.run { try started.get() }
    }

    /// A new, empty database on the cluster, as the location a store opens.
    static func freshDatabase() async throws -> PostgresLocation {
        let url = try await serverURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await psql(url, "CREATE DATABASE \(name)")
        var location = try PostgresLocation.parse(url)
        location.database = String(name)
        location.tls = .disable
        return location
    }

    /// The URL of `location` with its password, as a user would write it in store.url.
    static func url(_ location: PostgresLocation) -> String {
        var components = URLComponents()
        components.scheme = "postgresql"
        components.user = location.username
        components.password = location.password
        components.host = location.host
        components.port = location.port
        components.path = "/" + location.database
        components.queryItems = [URLQueryItem(name: "sslmode", value: "disable")]
        return components.string!
    }

    /// At most four psql processes at once. Unbounded, a burst of suites starting together ran
    /// ninety, each on a thread with its pipes and run loop, and above about 1,300 open
    /// descriptors Foundation's `Process.run` (Swift 6.3.1) reads past readdir's buffer while it
    /// lists /proc/self/fd, and the test process crashes (swift-corelibs-foundation#5472).
    private static let psqlSlots = AsyncGate(admitting: 4)

    /// Runs SQL through Debian's psql (not through the code under test); returns its output.
    @discardableResult
    static func psql(_ url: String, _ sql: String) async throws -> String {
        try await psqlSlots.withLock { try await runPsql(url, sql) }
    }

    private static func runPsql(_ url: String, _ sql: String) async throws -> String {
        try await Blocking.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
            process.arguments = [url, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-t", "-A", "-c", sql]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            guard process.terminationStatus == 0 else { throw ClusterError(message: "psql: \(sql): \(text)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    static func psql(_ location: PostgresLocation, _ sql: String) async throws -> String {
        try await psql(url(location), sql)
    }

    struct ClusterError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    // MARK: One cluster per test run

    private static let script = TestPaths.repository.appendingPathComponent("scripts/pg-cluster.sh").path
    private static let ownedDirectory = Mutex<String?>(nil)

    private static let started: Result<String, any Error> = Result {
        if let url = ProcessInfo.processInfo.environment[environmentKey], !url.isEmpty { return url }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "newsletter-pg-\(UUID().uuidString.prefix(8))"
        ).path
        ownedDirectory.withLock { $0 = directory }
        atexit { PostgresCluster.stopOwnedCluster() }
        // system(3), not Foundation's Process: the server the script starts outlives it, and
        // Process's wait for the script's end hung here (the child was never reaped).
        let outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("pg-start-\(UUID().uuidString)").path
        defer {
            try? FileManager.default.removeItem(atPath: outputFile)
            try? FileManager.default.removeItem(atPath: outputFile + ".err")
        }
        let status = system("/bin/bash '\(script)' start '\(directory)' </dev/null >'\(outputFile)' 2>'\(outputFile).err'")
        let url = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
        let errors = (try? String(contentsOfFile: outputFile + ".err", encoding: .utf8)) ?? ""
        guard status == 0 else {
            throw ClusterError(message: "scripts/pg-cluster.sh start failed (\(status)): \(errors)")
        }
        return url.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func stopOwnedCluster() {
        guard let directory = ownedDirectory.withLock({ $0 }) else { return }
        _ = system("/bin/bash '\(script)' stop '\(directory)' </dev/null >/dev/null 2>&1")
    }
}

/// A transaction of another connection (psql reading a pipe), held open until the test ends it:
/// another process caught mid-transaction, holding its row locks.
final class HeldTransaction: Sendable {
    private let process = Process()
    private let input = Pipe()

    /// Begins the transaction and runs `statements` in it; returns once they have run.
    static func begin(_ location: PostgresLocation, _ statements: String) async throws -> HeldTransaction {
        let held = try HeldTransaction(location, statements)
        // Idle in its transaction, the statements done (the tag is in its last one).
        try await PostgresCluster.until("psql holds its transaction open") {
            try await PostgresCluster.psql(
                location,
                """
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                  AND state = 'idle in transaction' AND query LIKE '%/* held */%'
                """) == "1"
        }
        return held
    }

    private init(_ location: PostgresLocation, _ statements: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = [PostgresCluster.url(location), "-v", "ON_ERROR_STOP=1", "-X", "-q"]
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data("BEGIN;\n\(statements) /* held */;\n".utf8))
    }

    /// Runs `statements` (ending with COMMIT or ROLLBACK) and waits for psql to exit.
    func end(_ statements: String) async throws {
        input.fileHandleForWriting.write(Data("\(statements)\n".utf8))
        try input.fileHandleForWriting.close()
        let status = try await Blocking.run { [process] in
            process.waitUntilExit()
            return process.terminationStatus
        }
        guard status == 0 else { throw PostgresCluster.ClusterError(message: "psql: \(statements): exit \(status)") }
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

extension PostgresCluster {
    /// Asks `condition` every 20 ms until it holds (or a minute has passed: an error naming `what`).
    static func until(_ what: String, _ condition: () async throws -> Bool) async throws {
        for _ in 0..<3000 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ClusterError(message: "gave up waiting until \(what)")
    }

    /// How many connections to `location`'s database wait for a lock another transaction holds.
    static func lockWaits(_ location: PostgresLocation) async throws -> Int {
        Int(
            try await psql(
                location,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )) ?? 0
    }
}
