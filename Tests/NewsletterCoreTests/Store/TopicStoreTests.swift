import Foundation
import Testing

@testable import NewsletterCore

/// Topics kept in the store as pages are ingested, counted, renamed and merged by aliases, and
/// backfilled for comparisons stored before topics existed.
struct TopicStoreTests {
    let directory: URL
    let store: AppDatabase

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("n.sqlite").path)
    }

    func save(_ title: String, _ categories: [String?]) throws -> Int64 {
        var comparison = try StoreFixtures.comparison(title, published: "2026-11-17T10:00:00Z")
        for index in comparison.tools.indices { comparison.tools[index].category = categories[index] }
        return try store.saveComparison(comparison).id
    }

    @Test func bothToolsCategoriesBecomeTopicsWithHowManyComparisonsHadThem() throws {
        _ = try save("A vs B", ["Developer Tools", "Productivity"])
        _ = try save("C vs D", ["developer  tools", "Developer Tools"])
        _ = try save("E vs F", [nil, "Writing"])
        #expect(try store.categories() == ["Developer Tools", "Productivity", "Writing"])
        #expect(
            try store.topicCounts(aliases: TopicAliases()) == [
                TopicCount(topic: "Developer Tools", comparisons: 2, categories: ["Developer Tools"]),
                TopicCount(topic: "Productivity", comparisons: 1, categories: ["Productivity"]),
                TopicCount(topic: "Writing", comparisons: 1, categories: ["Writing"]),
            ])
    }

    @Test func anUpdatedPageReplacesItsTopics() throws {
        var comparison = try StoreFixtures.comparison("A vs B", published: "2026-11-17T10:00:00Z")
        comparison.tools[0].category = "Audio"
        comparison.tools[1].category = "Audio"
        _ = try store.saveComparison(comparison)
        comparison.tools[1].category = "Video"
        comparison.contentHash = "changed"
        _ = try store.saveComparison(comparison)
        #expect(try store.topicCounts(aliases: TopicAliases()).map(\.topic) == ["Audio", "Video"])
        comparison.tools[0].category = "Video"
        comparison.contentHash = "changed again"
        _ = try store.saveComparison(comparison)
        // A category nobody uses any more counts no comparison; it is not listed.
        #expect(try store.topicCounts(aliases: TopicAliases()).map(\.topic) == ["Video"])
    }

    @Test func aliasesRenameAndMergeEverywhereThroughOneResolver() throws {
        _ = try save("A vs B", ["Developer Tools", "Productivity"])
        _ = try save("C vs D", ["Dev Tools", "Writing"])
        let aliases = TopicAliases(["dev tools": "Developer Tools", "Writing": "Words"])
        #expect(
            try store.topicCounts(aliases: aliases) == [
                TopicCount(topic: "Developer Tools", comparisons: 2, categories: ["Dev Tools", "Developer Tools"]),
                TopicCount(topic: "Productivity", comparisons: 1, categories: ["Productivity"]),
                TopicCount(topic: "Words", comparisons: 1, categories: ["Writing"]),
            ])
        #expect(try store.topicCatalog(aliases: aliases).topics == ["Developer Tools", "Productivity", "Words"])
        // A choice stored before the rename follows it.
        #expect(TopicChoice(["Writing", "Dev Tools"]).resolved(aliases) == TopicChoice(["Developer Tools", "Words"]))
    }

    @Test func theMigrationBackfillsTopicsFromComparisonsStoredBefore() throws {
        let path = directory.appendingPathComponent("old.sqlite").path
        try AppDatabase.createMigrated(
            path: path, upTo: "v7-runs",
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
        #expect(
            try upgraded.topicCounts(aliases: TopicAliases()) == [
                TopicCount(topic: "Developer Tools", comparisons: 2, categories: ["Developer Tools"]),
                TopicCount(topic: "Writing", comparisons: 1, categories: ["Writing"]),
            ])
    }

    @Test func aSubscribersChoiceIsStoredRecordedAndCountedAmongReaders() throws {
        let ada = try store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let bo = try store.addSubscriber(email: "bo@example.org", name: nil, status: .confirmed)
        _ = try store.addSubscriber(email: "cy@example.org", name: nil, status: .confirmed)
        let pending = try store.addSubscriber(email: "dee@example.org", name: nil, status: .pending)
        for id in [ada.id, bo.id, pending.id] {
            try store.setTopicChoice(TopicChoice(["Writing"]), subscriberID: id, client: .commandLine, at: Date())
        }
        // Saving the same choice again records nothing new.
        try store.setTopicChoice(TopicChoice(["Writing"]), subscriberID: ada.id, client: .commandLine, at: Date())
        #expect(try store.readerChoices() == [TopicChoice(["Writing"]): 2, .everything: 1])
        #expect(try store.consentRecords(subscriberID: ada.id).map(\.detail) == ["topics=Writing"])
        #expect(try store.topicChoices(subscriberIDs: [ada.id, bo.id]) == [ada.id: TopicChoice(["Writing"]), bo.id: TopicChoice(["Writing"])])
    }
}
