import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The PostgreSQL store: one database that any number of `newsletter` processes, on any number
/// of hosts, share. It owns its schema (versioned migrations, PostgresMigrations.swift) and
/// exposes the same intent-named methods as the SQLite store, under the same protocols.
///
/// Its connections are postgres-nio's `PostgresClient` pool, which works only while the store
/// runs: as a `Service` in the caller's `ServiceGroup`, or inside `whileRunning` /
/// `withStore` (PostgresStore+Lifecycle.swift).
public final class PostgresStore: Sendable {
    public let location: PostgresLocation
    let logger: Logger
    /// This process as a sender of the ledger (its lease's owner), and as `status` shows it.
    public let sender: SenderIdentity
    /// Where the store reads the time it stamps and compares leases with.
    let clock: any TimeSource
    /// When this process last renewed its lease on the rows it holds, and whether it ever went
    /// too long without (PostgresStore+Delivery.swift).
    let leaseState = Mutex(LeaseState())
    /// Rows claimed and recipients recorded sent but not yet added to this sender's row
    /// (`status` reads it): each claim adds them after it committed, unless the row is held
    /// (`reportCountsIfFree`), and each renewal. A record is then one statement, and claims never
    /// wait on that row for one another.
    let unreported = Mutex(SenderCounts())
    let client: PostgresClient
    /// For the connections outside the pool: the first contact (whose refusal is reported at
    /// once, where the pool would retry) and the run lock's session.
    private let directConfiguration: PostgresConnection.Configuration
    private let directConnections = Atomic<Int>(0)
    /// How many times a connection was taken from the pool (the tests read it).
    let poolLeases = Atomic<Int>(0)
    /// Connections held by tasks now (`withConnectionHeld`).
    let heldConnections = Atomic<Int>(0)

    init(
        _ location: PostgresLocation, logger: Logger, clock: any TimeSource = SystemTime(),
        sender: SenderIdentity = SenderIdentity()
    ) throws(PostgresStoreError) {
        self.location = location
        self.logger = logger
        self.clock = clock
        self.sender = sender
        let tls: (pooled: PostgresClient.Configuration.TLS, direct: PostgresConnection.Configuration.TLS)
        do {
            var settings = TLSConfiguration.makeClientConfiguration()
            switch location.tls {
            case .disable:
                tls = (.disable, .disable)
            case .prefer:
                settings.certificateVerification = .none
                tls = (.prefer(settings), .prefer(try NIOSSLContext(configuration: settings)))
            case .require:
                settings.certificateVerification = .none
                tls = (.require(settings), .require(try NIOSSLContext(configuration: settings)))
            case .verifyFull:
                settings.certificateVerification = .fullVerification
                if let file = location.rootCertificate { settings.trustRoots = .file(file) }
                tls = (.require(settings), .require(try NIOSSLContext(configuration: settings)))
            }
        } catch {
            throw .tls(location, "\(error)")
        }
        // Our transactions are a few statements long. One left open by a process that stopped
        // mid-way (SIGSTOP, a hung host) would hold its row locks until the server noticed the
        // connection dead, blocking every other sender's writes to those rows: past this the
        // server ends it, rolls it back (the stalled process then records nothing) and frees them.
        let idleTimeout = max(10, min(60, location.leaseSeconds))
        let startup = [("idle_in_transaction_session_timeout", "\(idleTimeout)s")]

        var pooled = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls.pooled)
        pooled.options.maximumConnections = Self.maximumConnections
        pooled.options.connectTimeout = .seconds(location.connectTimeout)
        pooled.options.additionalStartupParameters = startup
        client = PostgresClient(configuration: pooled, backgroundLogger: Self.queryLogger)

        var direct = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls.direct)
        direct.options.connectTimeout = .seconds(Int64(location.connectTimeout))
        direct.options.additionalStartupParameters = startup
        directConfiguration = direct
    }

    // MARK: Connections

    /// A connection outside the pool, for the first contact and for a lock held across other
    /// work; the caller closes it (`discard`).
    func connectDirectly() async throws(PostgresStoreError) -> PostgresConnection {
        let id = directConnections.add(1, ordering: .relaxed).newValue
        do {
            return try await PostgresConnection.connect(
                on: MultiThreadedEventLoopGroup.singleton.any(), configuration: directConfiguration, id: -id,
                logger: logger)
        } catch {
            throw PostgresStoreError(error, location: location)
        }
    }

    /// Closes a connection outside the pool; what it held on the server (a session lock) goes with it.
    static func discard(_ connection: PostgresConnection) async {
        try? await connection.close()
    }

    /// Runs `body` on a connection of the pool. A connection lost under it (a server restart,
    /// an administrator's pg_terminate_backend, an idle connection found dead) is not given back,
    /// and `body` is run once more on another only when `retryable` says it had no effect (a
    /// read, or a transaction whose BEGIN failed).
    private func withConnection<T>(
        _ body: (PostgresSession) async throws -> T, retryable: (any Error) -> Bool
    ) async throws(PostgresStoreError) -> T {
        do {
            return try await leased(body)
        } catch {
            // A statement that ran out of time is not run again: the server that stalled it
            // would most likely stall the next one, and the caller has waited long enough.
            guard PostgresStoreError.isConnectionLoss(error), !PostgresStoreError.isTimeout(error), retryable(error)
            else { throw PostgresStoreError(error, location: location) }
            do {
                return try await leased(body)
            } catch {
                throw PostgresStoreError(error, location: location)
            }
        }
    }

    private func leased<T>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        if let held = Self.heldConnection, held.store == ObjectIdentifier(self), let connection = held.take() {
            let session = session(connection)
            do {
                let result = try await body(session)
                held.giveBack(lost: false)
                return result
            } catch {
                let lost = PostgresStoreError.isConnectionLoss(error)
                if lost { session.close() }
                held.giveBack(lost: lost)
                throw error
            }
        }
        poolLeases.add(1, ordering: .relaxed)
        // Handed out through a variable: the pool's closure returns only what it can send.
        var result: T?
        try await client.withConnection { connection in
            let session = session(connection)
            do {
                result = try await body(session)
            } catch {
                // The pool drops a closed connection; a broken one must not go back to it.
                if PostgresStoreError.isConnectionLoss(error) { session.close() }
                throw error
            }
        }
        guard let result else { throw PostgresStoreError.other("a pooled connection returned nothing") }
        return result
    }

    func session(_ connection: PostgresConnection) -> PostgresSession {
        PostgresSession(connection: connection, deadline: .seconds(Int64(location.queryTimeout)), location: location)
    }

    /// A read: run again on another connection if the first turned out dead.
    @discardableResult
    func read<T>(_ body: (PostgresSession) async throws -> T) async throws(PostgresStoreError) -> T {
        try await withConnection(body, retryable: { _ in true })
    }

    /// One statement on its own (atomic by itself, one round trip): never run twice, since a
    /// connection lost mid-way may or may not have applied it.
    @discardableResult
    func single<T>(_ body: (PostgresSession) async throws -> T) async throws(PostgresStoreError) -> T {
        try await withConnection(body, retryable: { _ in false })
    }

    /// A transaction: all of `body` or nothing. Run again on another connection only if its
    /// BEGIN failed on a connection found dead (nothing of it reached the server).
    @discardableResult
    func transaction<T>(_ body: (PostgresSession) async throws -> T) async throws(PostgresStoreError) -> T {
        try await withConnection({ try await $0.transaction(body) }, retryable: { $0 is BeginFailed })
    }

    struct BeginFailed: Error {
        var underlying: any Error
    }
}

extension PostgresStore: Service {
    /// Runs the connection pool until the task is cancelled or the service group shuts down
    /// gracefully; the store's calls wait for a connection until it runs. Once only.
    public func run() async throws {
        await client.run()
    }
}

/// A connection with the store's deadline on every statement. A server that stops answering
/// (stopped, a network that drops packets without a reset) would otherwise hold the caller
/// for ever: past the deadline the connection is closed, which fails the statement, and the
/// caller gets `.timedOut`. What was not committed is not recorded.
struct PostgresSession: Sendable {
    let connection: PostgresConnection
    let deadline: TimeAmount
    let location: PostgresLocation

    var isClosed: Bool { connection.isClosed }

    /// Closes the connection without waiting (the pool, or the owner, sees it closed).
    func close() {
        _ = connection.close() as EventLoopFuture<Void>
    }

    /// Runs a statement and returns the rows.
    @discardableResult
    func rows(_ query: PostgresQuery, logger: Logger = PostgresStore.queryLogger) async throws -> [PostgresRow] {
        try await withDeadline(connection.query(query, logger: logger)).rows
    }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func run(_ query: PostgresQuery, logger: Logger = PostgresStore.queryLogger) async throws -> Int {
        try await withDeadline(connection.query(query, logger: logger)).metadata.rows ?? 0
    }

    /// `body` between BEGIN and COMMIT on this connection; rolled back when it throws. A
    /// connection whose ROLLBACK fails is closed, so it is never used again mid-transaction.
    func transaction<T>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        do {
            try await run("BEGIN")
        } catch {
            throw PostgresStore.BeginFailed(underlying: error)
        }
        do {
            let result = try await body(self)
            try await run("COMMIT")
            return result
        } catch {
            if !isClosed {
                do { try await run("ROLLBACK") } catch { close() }
            }
            throw error
        }
    }

    private func withDeadline<T: Sendable>(_ future: EventLoopFuture<T>) async throws -> T {
        let expired = ExpiryFlag()
        let connection = self.connection
        let location = self.location
        let deadline = self.deadline
        let loop = future.eventLoop
        // The caller waits on this promise, not on the query's own future: a query handed to a
        // connection the server had already ended (its transaction killed while this process
        // was stopped, a backend terminated while the connection sat in the pool) was seen
        // never to complete, closing or not. A watch looks once a second: a connection closed
        // under the statement fails it then, as lost; past the deadline it is closed and the
        // statement has timed out. Everything here runs on the connection's event loop, so the
        // watch ends the moment the answer comes, however late the caller's task resumes.
        let answer = loop.makePromise(of: T.self)
        future.cascade(to: answer)
        let started = NIODeadline.now()
        let watch = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { watch in
            if connection.isClosed {
                watch.cancel()
                answer.fail(PostgresStoreError.connectionLost(location, "the connection closed under the statement"))
            } else if NIODeadline.now() - started >= deadline {
                watch.cancel()
                expired.fire()
                _ = connection.close() as EventLoopFuture<Void>
                answer.fail(ChannelError.ioOnClosedChannel)
            }
        }
        answer.futureResult.whenComplete { _ in watch.cancel() }
        do {
            return try await answer.futureResult.get()
        } catch {
            if expired.fired {
                throw PostgresStoreError.timedOut(location, seconds: location.queryTimeout)
            }
            throw error
        }
    }

    private final class ExpiryFlag: Sendable {
        private let state = Atomic<Bool>(false)
        func fire() { state.store(true, ordering: .releasing) }
        var fired: Bool { state.load(ordering: .acquiring) }
    }
}

extension PostgresStore {
    /// Queries are not logged (their values are subscribers' addresses); errors are, by the caller.
    static let queryLogger = Logger(label: "newsletter.store.query", factory: { _ in SwiftLogNoOpLogHandler() })
}
