import Foundation
import Logging
import PostgresNIO

/// Opening a PostgreSQL store, and keeping its pool running while it is used.
///
/// The first contact is made on a connection of its own, not through the pool: the pool keeps
/// retrying a connection the server refuses (for up to a minute), where a wrong password, a
/// missing database or a server that is not there must be said at once, with its exit status.
extension PostgresStore {
    /// What opening checks, beyond reaching the server.
    public enum Opening: Sendable {
        /// Checks that the database is ours (or empty) and brings its schema up to date under an
        /// advisory lock, so two processes starting at once migrate it once.
        case migrate
        /// Checks that the schema is this binary's, changing nothing.
        case checkSchema
        /// Only reaches the server (`store migrate` then migrates).
        case connect
    }

    /// Reaches the server and checks (or migrates) the schema, on a connection of its own; any
    /// failure leaves the database as it was. The store's calls work once it runs (`run()` in
    /// a ServiceGroup, or `whileRunning`).
    public static func open(
        _ location: PostgresLocation, logger: Logger = Logger(label: "newsletter.store"), opening: Opening = .migrate,
        clock: any TimeSource = SystemTime(), sender: SenderIdentity = SenderIdentity()
    ) async throws(PostgresStoreError) -> PostgresStore {
        let store = try PostgresStore(location, logger: logger, clock: clock, sender: sender)
        let connection = try await store.connectDirectly()
        do {
            let session = store.session(connection)
            switch opening {
            case .migrate: _ = try await Self.migrate(session, location: location)
            case .checkSchema: try await Self.checkSchema(session, location: location)
            case .connect: try await session.run("SELECT 1")
            }
        } catch {
            await discard(connection)
            throw PostgresStoreError(error, location: location)
        }
        await discard(connection)
        return store
    }

    /// Runs the pool while `body` uses the store, and shuts it down (closing its connections)
    /// when `body` returns or throws. A store runs once: this, or `run()` in a ServiceGroup.
    public func whileRunning<T>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self, returning: T.self, isolation: isolation) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    /// Opens the store at `location` (`open`), and runs `body` with it while its pool runs.
    public static func withStore<T>(
        _ location: PostgresLocation, logger: Logger = Logger(label: "newsletter.store"), opening: Opening = .migrate,
        clock: any TimeSource = SystemTime(), sender: SenderIdentity = SenderIdentity(),
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresStore) async throws -> T
    ) async throws -> T {
        let store = try await open(location, logger: logger, opening: opening, clock: clock, sender: sender)
        return try await store.whileRunning(isolation: isolation, body)
    }
}
