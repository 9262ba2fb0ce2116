import Foundation
import Logging
import ServiceLifecycle

/// Everything the commands need from a store, as the code that uses each part declared it:
/// what the stages mean (the comparisons, the issues and drafts, the ledger, the subscribers
/// and their tokens, the endpoint's mail queue, summaries, runs, topics, bounces, the archive),
/// never how a backend keeps it. The commands get one from `StoreFactory.open` and pass it on
/// as `some NewsletterStore`.
public protocol NewsletterStore: ComparisonStore, IssueStore, DeliveryLedger, SubscriberStore,
    SubscriberEndpointStore, SummaryStore, RunStore, TopicStore, BounceStore, ArchiveStore, ClickStore, RelayStore,
    IssueReportStore, ProviderEventLedger, EditorAccountStore, AuditLogStore, ReaderDataStore, WebhookStore,
    APIKeyStore
{
    /// Where the store is, for messages (a password masked).
    var locationDescription: String { get }
    /// What must run while the store is used (PostgreSQL's connection pool), for a
    /// ServiceGroup to run beside the server; nil when nothing must (SQLite).
    var runner: (any Service)? { get }
    /// Adds a confirmed subscriber from an import with a consent record naming `source`; an
    /// address already known is left as it is. Returns whether the address was new.
    func importSubscriber(email: String, name: String?, topics: TopicChoice?, source: String, at time: Date)
        async throws
        -> Bool
    /// The stored topic choices of these subscribers (those without one get everything), for export.
    func topicChoices(subscriberIDs: [Int64]) async throws -> [Int64: TopicChoice]
    /// Drops an editor's summary text; returns whether there was one.
    func removeSummaryOverride(week: IssueWeek, comparisonID: Int64) async throws -> Bool
    /// Runs `body` holding the lock the weekly run decides under (ingest, build, approve, mail
    /// the editors, send), or returns nil at once when another run holds it. On SQLite that is
    /// the data directory's run.lock; on a shared database a lock in the database, so two
    /// hosts' cron entries decide once. `week` names the run in messages.
    func withRunLock<T>(_ week: IssueWeek, dataDirectory: String, _ body: (any WeekLockHold) async throws -> T)
        async throws -> T?
}

extension AppDatabase: NewsletterStore {
    public var locationDescription: String { path }

    public var runner: (any Service)? { nil }

    public var admitsConcurrentSenders: Bool { false }

    public func liveSenders(_ week: IssueWeek, at time: Date) async throws -> [SenderStatus] { [] }

    public func withRunLock<T>(_ week: IssueWeek, dataDirectory: String, _ body: (any WeekLockHold) async throws -> T)
        async throws -> T?
    {
        // The kernel drops the flock when its holder dies, however it dies.
        let lock: RunLock
        do {
            lock = try RunLock(path: (dataDirectory as NSString).appendingPathComponent("run.lock"))
        } catch {
            switch error {
            case .held: return nil
            case .unavailable: throw error
            }
        }
        defer { withExtendedLifetime(lock) {} }
        return try await body(FileLockHold())
    }

    /// A flock is held until its descriptor is closed: it cannot be lost under its holder.
    private struct FileLockHold: WeekLockHold {
        func ensureHeld() throws {}
    }
}

extension PostgresStore: NewsletterStore {
    public var locationDescription: String { location.description }

    public var runner: (any Service)? { self }
}

/// Why a store could not be opened, with the exit status that says so.
public struct StoreOpenError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var exitStatus: ExitStatus
}

/// The one place a store is made from the configuration: the SQLite file by default, the
/// PostgreSQL database when `store.url` (or `NEWSLETTER_STORE_URL`) names one.
public enum StoreFactory {
    /// Opens the configured store and runs `body` with it: the SQLite file, or the PostgreSQL
    /// database with its connection pool running for as long as `body` does (`serve` runs the
    /// pool in its ServiceGroup instead). Connecting and migrating come first, so a wrong URL or
    /// password says so before anything else.
    public static func withStore<T>(
        _ location: StoreLocation, logger: Logger, isolation: isolated (any Actor)? = #isolation,
        _ body: (any NewsletterStore) async throws -> T
    ) async throws -> T {
        switch location {
        case .sqlite(let path):
            return try await body(try openSQLite(path))
        case .postgres(let postgres):
            return try await openPostgres(postgres, logger: logger).whileRunning(isolation: isolation) {
                try await body($0)
            }
        }
    }

    /// Opens the configured store without running anything: its `runner`, when it has one, must
    /// run (in a ServiceGroup) for its calls to be answered. `withStore` does both.
    public static func open(_ location: StoreLocation, logger: Logger) async throws -> any NewsletterStore {
        switch location {
        case .sqlite(let path):
            return try openSQLite(path)
        case .postgres(let postgres):
            return try await openPostgres(postgres, logger: logger)
        }
    }

    /// Connects and migrates; a failure is a `StoreOpenError` with its exit status.
    private static func openPostgres(_ location: PostgresLocation, logger: Logger) async throws(StoreOpenError)
        -> PostgresStore
    {
        do {
            return try await PostgresStore.open(location, logger: logger)
        } catch {
            throw StoreOpenError(description: "\(error)", exitStatus: error.exitStatus)
        }
    }

    /// The SQLite store (its file created and migrated when needed): it needs nothing running.
    public static func openSQLite(_ path: String) throws(StoreOpenError) -> AppDatabase {
        do {
            return try AppDatabase.open(path: path)
        } catch {
            throw StoreOpenError(description: "\(error)", exitStatus: .storeError)
        }
    }
}
