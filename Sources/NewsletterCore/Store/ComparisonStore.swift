import Foundation

/// Where comparisons are kept. SQLite (`AppDatabase`) is the embedded default; the protocol is
/// what callers use, so a PostgreSQL store can stand in without touching them.
public protocol ComparisonStore: Sendable {
    /// Stores a parsed comparison, keyed by its source. The same source with the same content
    /// hash changes nothing; a new hash replaces the record whole, in one transaction.
    func saveComparison(_ comparison: Comparison) async throws -> SaveOutcome
    /// Every stored comparison, most recently published first.
    func listComparisons() async throws -> [ComparisonSummary]
    func comparison(id: Int64) async throws -> StoredComparison?
}

public enum SaveOutcome: Equatable, Sendable {
    case inserted(id: Int64)
    /// Same source, new content: the record was replaced.
    case updated(id: Int64, previousHash: String)
    /// Same source, same content: nothing was written.
    case unchanged(id: Int64)
    /// The same comparison (same title, tools and takes) is already stored under another source,
    /// e.g. the HTML page of a stored text dump; nothing was written, so it cannot be featured twice.
    case duplicate(of: Int64, source: String)

    public var id: Int64 {
        switch self {
        case .inserted(let id), .updated(let id, _), .unchanged(let id), .duplicate(let id, _): id
        }
    }
}

/// A comparison as stored, with the store's own bookkeeping.
public struct StoredComparison: Sendable, Equatable, Encodable {
    public var id: Int64
    public var firstSeenAt: Date
    public var updatedAt: Date
    public var comparison: Comparison

    enum CodingKeys: String, CodingKey { case id, firstSeenAt, updatedAt }

    /// One flat JSON object: the comparison's fields plus `id`, `firstSeenAt` and `updatedAt`.
    public func encode(to encoder: any Encoder) throws {
        try comparison.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(firstSeenAt, forKey: .firstSeenAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// One line of `comparisons list`.
public struct ComparisonSummary: Sendable, Equatable, Codable {
    public var id: Int64
    public var title: String
    public var published: Date
    public var source: String
    public var takeCount: Int
}

/// The store could not be opened or written. Says where, and what to do.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String

    public var description: String {
        "the store at \(path) failed: \(reason). Check that the directory exists and is writable, or set store.path in newsletter.toml."
    }
}

extension ComparisonStore {
    /// The stored comparisons with these ids, in their order; an id no longer stored is left out.
    func comparisons(ids: [Int64]) async throws -> [StoredComparison] {
        var comparisons: [StoredComparison] = []
        for id in ids {
            if let comparison = try await comparison(id: id) { comparisons.append(comparison) }
        }
        return comparisons
    }
}
