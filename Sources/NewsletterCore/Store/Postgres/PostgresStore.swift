import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// The PostgreSQL store: one database that any number of `newsletter` processes, on any number
/// of hosts, share. It owns its schema (versioned migrations, PostgresMigrations.swift) and
/// exposes the same intent-named methods as the SQLite store, under the same protocols.
///
/// The store protocols are synchronous (the SQLite store's callers are); this store keeps a
/// small set of idle connections and waits on the event loop's futures, never on the Swift
/// concurrency pool, so a caller on any thread but an event loop's may use it.
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
    /// Recipients recorded sent but not yet added to this sender's row (`status` reads it): the
    /// next claim or renewal adds them, so a record is one statement, not a transaction.
    let unreportedSent = Mutex(0)
    private let configuration: PostgresConnection.Configuration
    private let eventLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let idle = Mutex<[PostgresConnection]>([])
    private let connectionCount = Atomic<Int>(0)
    /// Idle connections kept for reuse; more may be open while busy.
    private let keepIdle = 8

    /// Connects, checks that the database is ours (or empty) and brings its schema up to date
    /// under an advisory lock, so two processes starting at once migrate it once. Any failure
    /// leaves the database as it was.
    public static func open(
        _ location: PostgresLocation, logger: Logger = Logger(label: "newsletter.store"), migrate: Bool = true,
        clock: any TimeSource = SystemTime(), sender: SenderIdentity = SenderIdentity()
    ) throws(PostgresStoreError) -> PostgresStore {
        let store = try PostgresStore(location, logger: logger, clock: clock, sender: sender)
        do {
            if migrate {
                try store.migrate()
            } else {
                try store.checkSchema()
            }
        } catch {
            store.close()
            throw error
        }
        return store
    }

    /// Connects without touching the schema (`store migrate` then migrates it).
    public static func connect(_ location: PostgresLocation, logger: Logger = Logger(label: "newsletter.store"))
        throws(PostgresStoreError) -> PostgresStore
    {
        let store = try PostgresStore(location, logger: logger)
        try store.read { try $0.run("SELECT 1") }
        return store
    }

    init(
        _ location: PostgresLocation, logger: Logger, clock: any TimeSource = SystemTime(),
        sender: SenderIdentity = SenderIdentity()
    ) throws(PostgresStoreError) {
        self.location = location
        self.logger = logger
        self.clock = clock
        self.sender = sender
        let tls: PostgresConnection.Configuration.TLS
        do {
            var settings = TLSConfiguration.makeClientConfiguration()
            switch location.tls {
            case .disable:
                tls = .disable
            case .prefer:
                settings.certificateVerification = .none
                tls = .prefer(try NIOSSLContext(configuration: settings))
            case .require:
                settings.certificateVerification = .none
                tls = .require(try NIOSSLContext(configuration: settings))
            case .verifyFull:
                settings.certificateVerification = .fullVerification
                if let file = location.rootCertificate { settings.trustRoots = .file(file) }
                tls = .require(try NIOSSLContext(configuration: settings))
            }
        } catch {
            throw .tls(location, "\(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(Int64(location.connectTimeout))
        // Our transactions are a few statements long. One left open by a process that stopped
        // mid-way (SIGSTOP, a hung host) would hold its row locks until the server noticed the
        // connection dead, blocking every other sender's writes to those rows: past this the
        // server ends it, rolls it back (the stalled process then records nothing) and frees them.
        let idleTimeout = max(10, min(60, location.leaseSeconds))
        configuration.options.additionalStartupParameters.append(
            ("idle_in_transaction_session_timeout", "\(idleTimeout)s"))
        self.configuration = configuration
    }

    /// Closes the idle connections (the store stays usable: a later call connects again).
    public func close() {
        let connections = idle.withLock { idle in
            defer { idle.removeAll() }
            return idle
        }
        for connection in connections { try? (connection.close() as EventLoopFuture<Void>).wait() }
    }

    deinit { close() }

    // MARK: Connections

    /// A connection outside the idle set, for a lock held across other work.
    func connectForLock() throws(PostgresStoreError) -> PostgresConnection { try connect() }

    private func connect() throws(PostgresStoreError) -> PostgresConnection {
        let id = connectionCount.add(1, ordering: .relaxed).newValue
        do {
            return try PostgresConnection.connect(
                on: eventLoops.any(), configuration: configuration, id: id, logger: logger
            ).wait()
        } catch {
            throw PostgresStoreError(error, location: location)
        }
    }

    /// Runs `body` on a connection of its own: an idle one, or a new one. A connection the
    /// server closed while it was idle (a restart, an administrator's pg_terminate_backend) is
    /// replaced, and `body` is run again on the new one only when `retryOnLostIdle` says it
    /// had no effect (a read, or a transaction whose BEGIN failed).
    private func withConnection<T>(
        _ body: (PostgresSession) throws -> T, retryable: (any Error) -> Bool
    ) throws(PostgresStoreError) -> T {
        var reused = idle.withLock { $0.popLast() }
        while let connection = reused, connection.isClosed { reused = idle.withLock { $0.popLast() } }
        let connection: PostgresConnection
        if let reused { connection = reused } else { connection = try connect() }
        do {
            let result = try body(session(connection))
            giveBack(connection)
            return result
        } catch {
            guard connection.isClosed || PostgresStoreError.isConnectionLoss(error) else {
                giveBack(connection)
                throw PostgresStoreError(error, location: location)
            }
            Self.discard(connection)
            // A statement that ran out of time is not run again: the server that stalled it
            // would most likely stall the next one, and the caller has waited long enough.
            guard reused != nil, retryable(error), !PostgresStoreError.isTimeout(error) else {
                throw PostgresStoreError(error, location: location)
            }
            let fresh = try connect()
            do {
                let result = try body(session(fresh))
                giveBack(fresh)
                return result
            } catch {
                if fresh.isClosed { Self.discard(fresh) } else { giveBack(fresh) }
                throw PostgresStoreError(error, location: location)
            }
        }
    }

    /// Closes and waits: PostgresNIO requires a connection closed before it is released.
    static func discard(_ connection: PostgresConnection) {
        try? (connection.close() as EventLoopFuture<Void>).wait()
    }

    private func giveBack(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        let kept = idle.withLock { idle in
            guard idle.count < keepIdle else { return false }
            idle.append(connection)
            return true
        }
        if !kept { Self.discard(connection) }
    }

    /// A read: run again on a fresh connection if the idle one turned out dead.
    func session(_ connection: PostgresConnection) -> PostgresSession {
        PostgresSession(connection: connection, deadline: .seconds(Int64(location.queryTimeout)), location: location)
    }

    func read<T>(_ body: (PostgresSession) throws -> T) throws(PostgresStoreError) -> T {
        try withConnection(body, retryable: { _ in true })
    }

    /// One statement on its own (atomic by itself, one round trip): never run twice, since a
    /// connection lost mid-way may or may not have applied it.
    func single<T>(_ body: (PostgresSession) throws -> T) throws(PostgresStoreError) -> T {
        try withConnection(body, retryable: { _ in false })
    }

    /// A transaction: all of `body` or nothing. Run again on a fresh connection only if its
    /// BEGIN failed on a connection found dead (nothing of it reached the server).
    func transaction<T>(_ body: (PostgresSession) throws -> T) throws(PostgresStoreError) -> T {
        try withConnection(
            { connection in
                do {
                    try connection.run("BEGIN")
                } catch {
                    throw BeginFailed(underlying: error)
                }
                do {
                    let result = try body(connection)
                    try connection.run("COMMIT")
                    return result
                } catch {
                    if !connection.isClosed { try? connection.run("ROLLBACK") }
                    throw error
                }
            }, retryable: { $0 is BeginFailed })
    }

    struct BeginFailed: Error {
        var underlying: any Error
    }
}

/// A connection with the store's deadline on every statement. A server that stops answering
/// (stopped, a network that drops packets without a reset) would otherwise hold the caller
/// for ever: past the deadline the connection is closed, which fails the statement, and the
/// caller gets `.timedOut`. What was not committed is not recorded.
struct PostgresSession {
    let connection: PostgresConnection
    let deadline: TimeAmount
    let location: PostgresLocation

    var isClosed: Bool { connection.isClosed }

    /// Runs a statement and returns the rows.
    @discardableResult
    func rows(_ query: PostgresQuery, logger: Logger = PostgresStore.queryLogger) throws -> [PostgresRow] {
        try waitWithDeadline(connection.query(query, logger: logger)).rows
    }

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func run(_ query: PostgresQuery, logger: Logger = PostgresStore.queryLogger) throws -> Int {
        try waitWithDeadline(connection.query(query, logger: logger)).metadata.rows ?? 0
    }

    private func waitWithDeadline<T: Sendable>(_ future: EventLoopFuture<T>) throws -> T {
        let expired = ExpiryFlag()
        let connection = self.connection
        // The caller waits on this promise, not on the query's own future: a query handed to a
        // connection the server had already ended (its transaction killed while this process
        // was stopped) was seen never to complete, closing or not.
        let answer = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: answer)
        let timer = future.eventLoop.scheduleTask(in: deadline) {
            expired.fire()
            _ = connection.close() as EventLoopFuture<Void>
            answer.fail(ChannelError.ioOnClosedChannel)  // ignored when the answer came first
        }
        defer { timer.cancel() }
        do {
            return try answer.futureResult.wait()
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

/// What went wrong with the PostgreSQL store, in words that say what to do. The exit status
/// separates a store that cannot be reached (74, try again later) from one that is set up
/// wrongly (78, fix the configuration).
public enum PostgresStoreError: Error, CustomStringConvertible, Sendable {
    case unreachable(PostgresLocation, String)
    case passwordRefused(PostgresLocation)
    case noSuchDatabase(PostgresLocation)
    case tls(PostgresLocation, String)
    /// The database holds tables newsletter did not create.
    case notOurs(PostgresLocation, tables: [String])
    /// Migrated by a newer newsletter than this one.
    case schemaTooNew(PostgresLocation, found: Int, known: Int)
    case connectionLost(PostgresLocation, String)
    /// A statement had no answer within `query_timeout`; its connection was closed.
    case timedOut(PostgresLocation, seconds: Int)
    /// A unique or foreign key constraint refused a write.
    case constraint(String)
    case server(sqlState: String, message: String)
    case other(String)

    init(_ error: any Error, location: PostgresLocation) {
        if let error = error as? PostgresStoreError {
            self = error
            return
        }
        if let begin = error as? PostgresStore.BeginFailed {
            self.init(begin.underlying, location: location)
            return
        }
        guard let error = error as? PSQLError else {
            self = .other("\(error)")
            return
        }
        if error.code == .server, let state = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? ""
            switch state {
            case "28P01", "28000": self = .passwordRefused(location)
            case "3D000": self = .noSuchDatabase(location)
            case "23505", "23503", "23502", "23514":
                self = .constraint(
                    "\(message)\(error.serverInfo?[.detail].map { " (\($0))" } ?? "")")
            case "57P01", "57P02", "57P03": self = .connectionLost(location, message)
            default: self = .server(sqlState: state, message: message)
            }
            return
        }
        if error.code == .connectionError {
            self = .unreachable(location, error.underlying.map { "\($0)" } ?? "\(error.code)")
        } else if Self.isConnectionLoss(error) {
            self = .connectionLost(location, "\(error.code)")
        } else if error.code == .sslUnsupported {
            self = .tls(location, "the server does not offer TLS (sslmode=\(location.tls.rawValue))")
        } else {
            self = .other("\(error.code): \(error.underlying.map { "\($0)" } ?? "")")
        }
    }

    static func isConnectionLoss(_ error: any Error) -> Bool {
        let error = (error as? PostgresStore.BeginFailed)?.underlying ?? error
        if let error = error as? PSQLError {
            if [.serverClosedConnection, .clientClosedConnection, .uncleanShutdown].contains(error.code) { return true }
            if error.code == .server, let state = error.serverInfo?[.sqlState], state.hasPrefix("57P") { return true }
        }
        if let error = error as? PostgresStoreError, case .connectionLost = error { return true }
        return isTimeout(error)
    }

    static func isTimeout(_ error: any Error) -> Bool {
        if let error = error as? PostgresStoreError, case .timedOut = error { return true }
        return false
    }

    public var exitStatus: ExitStatus {
        switch self {
        case .unreachable, .connectionLost, .timedOut, .constraint, .server, .other: .storeError
        case .passwordRefused, .noSuchDatabase, .tls, .notOurs, .schemaTooNew: .configurationError
        }
    }

    public var description: String {
        switch self {
        case .unreachable(let location, let reason):
            "cannot reach the PostgreSQL server at \(location.host):\(location.port) (\(reason)); nothing was written. Check that it runs and that store.url names it."
        case .passwordRefused(let location):
            "the PostgreSQL server at \(location.host):\(location.port) refused the password of user \"\(location.username)\" for database \"\(location.database)\"; nothing was written. Set the password in store.url or NEWSLETTER_STORE_PASSWORD."
        case .noSuchDatabase(let location):
            "the PostgreSQL server at \(location.host):\(location.port) has no database \"\(location.database)\"; create it (createdb \(location.database)) or fix store.url."
        case .tls(let location, let reason):
            "TLS to the PostgreSQL server at \(location.host):\(location.port) failed: \(reason); check sslmode in store.url."
        case .notOurs(let location, let tables):
            "the database \"\(location.database)\" on \(location.host):\(location.port) holds tables newsletter did not create (\(tables.prefix(5).joined(separator: ", "))\(tables.count > 5 ? ", …" : "")); nothing was written. Point store.url at an empty database or at one newsletter created."
        case .schemaTooNew(let location, let found, let known):
            "the database \"\(location.database)\" has schema version \(found), newer than this newsletter knows (\(known)); nothing was written. Run the newer newsletter, or upgrade this one."
        case .connectionLost(let location, let reason):
            "the connection to the PostgreSQL server at \(location.host):\(location.port) was lost (\(reason)); what was not committed was not recorded. Run again."
        case .timedOut(let location, let seconds):
            "the PostgreSQL server at \(location.host):\(location.port) did not answer within \(seconds) s (query_timeout in store.url); the connection was closed and what was not committed was not recorded. Check the server, then run again."
        case .constraint(let message):
            "the store refused the write: \(message)"
        case .server(let state, let message):
            "the PostgreSQL server failed (SQLSTATE \(state)): \(message)"
        case .other(let reason):
            "the PostgreSQL store failed: \(reason)"
        }
    }
}
