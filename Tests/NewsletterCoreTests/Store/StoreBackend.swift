import Foundation
import NewsletterCore
import Testing

/// A store backend the contract suites run against: each test gets a new, empty store of it.
/// Both backends are always in the list: a machine without PostgreSQL fails the PostgreSQL
/// half with the reason, rather than passing it silently.
/// Everything a store does; each contract suite uses its part.
typealias ContractStore = NewsletterStore

struct StoreBackend: Sendable, CustomTestStringConvertible {
    var name: String
    var makeStore: @Sendable () async throws -> any ContractStore

    var testDescription: String { name }

    static let sqlite = StoreBackend(name: "SQLite") {
        // A file, as in production (WAL, a pool of readers), not the in-memory queue.
        let directory = try TestPaths.temporaryDirectory()
        return try AppDatabase.open(path: directory.appendingPathComponent("store.sqlite").path)
    }

    /// Its pool runs until the test ends: the suite needs the `.runningStores` trait.
    static let postgres = StoreBackend(name: "PostgreSQL") {
        let location = try await PostgresCluster.freshDatabase()
        return try await PostgresStore.openRunning(location)
    }

    static let all: [StoreBackend] = [.sqlite, .postgres]
}
