import Foundation
import Logging

/// Everything the commands need from a store, as the code that uses each part declared it:
/// what the stages mean (the comparisons, the issues and drafts, the ledger, the subscribers
/// and their tokens, the endpoint's mail queue, summaries, runs, topics, bounces, the archive),
/// never how a backend keeps it. The commands get one from `StoreFactory.open` and pass it on
/// as `some NewsletterStore`.
public protocol NewsletterStore: ComparisonStore, IssueStore, DeliveryLedger, SubscriberStore,
    SubscriberEndpointStore, SummaryStore, RunStore, TopicStore, BounceStore, ArchiveStore
{
    /// Where the store is, for messages (a password masked).
    var locationDescription: String { get }
    /// Adds a confirmed subscriber from an import with a consent record naming `source`; an
    /// address already known is left as it is. Returns whether the address was new.
    func importSubscriber(email: String, name: String?, topics: TopicChoice?, source: String, at time: Date) throws
        -> Bool
    /// The stored topic choices of these subscribers (those without one get everything), for export.
    func topicChoices(subscriberIDs: [Int64]) throws -> [Int64: TopicChoice]
    /// Drops an editor's summary text; returns whether there was one.
    func removeSummaryOverride(week: IssueWeek, comparisonID: Int64) throws -> Bool
    /// Runs `body` holding the lock the weekly run decides under (ingest, build, approve, mail
    /// the editors, send), or returns nil at once when another run holds it. On SQLite that is
    /// the data directory's run.lock; on a shared database a lock in the database, so two
    /// hosts' cron entries decide once. `week` names the run in messages.
    func withRunLock<T>(_ week: IssueWeek, dataDirectory: String, _ body: (any WeekLockHold) async throws -> T) async throws -> T?
}

extension AppDatabase: NewsletterStore {
    public var locationDescription: String { path }

    public var admitsConcurrentSenders: Bool { false }

    public func liveSenders(_ week: IssueWeek, at time: Date) throws -> [SenderStatus] { [] }

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
}

/// Why a store could not be opened, with the exit status that says so.
public struct StoreOpenError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var exitStatus: ExitStatus
}

/// The one place a store is made from the configuration: the SQLite file by default, the
/// PostgreSQL database when `store.url` (or `NEWSLETTER_STORE_URL`) names one.
public enum StoreFactory {
    /// Connects and migrates, so a wrong URL or password says so before anything else.
    private static func openPostgres(_ location: PostgresLocation, logger: Logger) throws(StoreOpenError)
        -> PostgresStore
    {
        do {
            return try PostgresStore.open(location, logger: logger)
        } catch {
            throw StoreOpenError(description: "\(error)", exitStatus: error.exitStatus)
        }
    }

    public static func open(_ location: StoreLocation, logger: Logger) throws(StoreOpenError) -> any NewsletterStore {
        switch location {
        case .sqlite(let path):
            do {
                return try AppDatabase.open(path: path)
            } catch {
                throw StoreOpenError(description: "\(error)", exitStatus: .storeError)
            }
        case .postgres(let postgres):
            return try openPostgres(postgres, logger: logger)
        }
    }
}
