import Foundation
import Testing

@testable import NewsletterCore

/// The SQLite store's topic migration: topics backfilled for comparisons stored before topics
/// existed. What every TopicStore does is TopicStoreContractTests.
struct TopicStoreTests {
    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    @Test func theMigrationBackfillsTopicsFromComparisonsStoredBefore() async throws {
        let path = directory.appendingPathComponent("old.sqlite").path
        try AppDatabase.createMigrated(
            path: path, upTo: "v7-runs",
            // The names of the schema as it was then (camelCase until v11).
            then: """
                INSERT INTO comparison (id, source, title, contentHash, recordHash, published, publishedFrom, layout,
                                        markup, firstSeenAt, updatedAt)
                VALUES (1, '/a.txt', 'A vs B', 'h1', 'r1', '2026-11-17 10:00:00', 'page', 'labelled', 'text',
                        '2026-11-17 10:00:00', '2026-11-17 10:00:00'),
                       (2, '/c.txt', 'C vs D', 'h2', 'r2', '2026-11-18 10:00:00', 'page', 'labelled', 'text',
                        '2026-11-18 10:00:00', '2026-11-18 10:00:00');
                INSERT INTO comparisonTool (comparisonId, position, name, tagline, category, description)
                VALUES (1, 0, 'A', 'a', 'Developer Tools', 'a'), (1, 1, 'B', 'b', ' Writing ', 'b'),
                       (2, 0, 'C', 'c', 'developer tools', 'c'), (2, 1, 'D', 'd', NULL, 'd');
                """)
        let upgraded = try AppDatabase.open(path: path)
        await #expect(
            try await upgraded.topicCounts(aliases: TopicAliases()) == [
                TopicCount(topic: "Developer Tools", comparisons: 2, categories: ["Developer Tools"]),
                TopicCount(topic: "Writing", comparisons: 1, categories: ["Writing"]),
            ])
    }
}
