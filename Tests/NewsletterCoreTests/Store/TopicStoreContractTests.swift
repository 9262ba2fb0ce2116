import Foundation
import Testing

@testable import NewsletterCore

/// What every `TopicStore` does (and NewsletterStore's `topicChoices`), written once and run
/// against each backend: topics kept as pages are ingested, counted, renamed and merged by
/// aliases; each subscriber's choice stored, recorded in the consent trail and counted among
/// the readers.
@Suite("TopicStore contract", .runningStores)
struct TopicStoreContractTests {
    func save(_ title: String, _ categories: [String?], in store: any ContractStore) async throws -> Int64 {
        var comparison = try StoreFixtures.comparison(title, published: "2026-11-17T10:00:00Z")
        for index in comparison.tools.indices { comparison.tools[index].category = categories[index] }
        return try await store.saveComparison(comparison).id
    }

    @Test(arguments: StoreBackend.all)
    func bothToolsCategoriesBecomeTopicsWithHowManyComparisonsHadThem(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(try await store.categories().isEmpty)
        await #expect(try await store.categoryUses().isEmpty)
        let first = try await save("A vs B", ["Developer Tools", "Productivity"], in: store)
        let second = try await save("C vs D", ["developer  tools", "Developer Tools"], in: store)
        let third = try await save("E vs F", [nil, "Writing"], in: store)
        await #expect(try store.categories() == ["Developer Tools", "Productivity", "Writing"])
        // The spelling first seen names the topic; a comparison has it once.
        let uses = try await store.categoryUses().map { "\($0.comparisonID):\($0.category)" }.sorted()
        #expect(
            uses
                == [
                    "\(first):Developer Tools", "\(first):Productivity", "\(second):Developer Tools",
                    "\(third):Writing",
                ].sorted())
        await #expect(
            try store.topicCounts(aliases: TopicAliases()) == [
                TopicCount(topic: "Developer Tools", comparisons: 2, categories: ["Developer Tools"]),
                TopicCount(topic: "Productivity", comparisons: 1, categories: ["Productivity"]),
                TopicCount(topic: "Writing", comparisons: 1, categories: ["Writing"]),
            ])
    }

    @Test(arguments: StoreBackend.all)
    func anUpdatedPageReplacesItsTopics(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var comparison = try StoreFixtures.comparison("A vs B", published: "2026-11-17T10:00:00Z")
        comparison.tools[0].category = "Audio"
        comparison.tools[1].category = "Audio"
        _ = try await store.saveComparison(comparison)
        comparison.tools[1].category = "Video"
        comparison.contentHash = "changed"
        _ = try await store.saveComparison(comparison)
        await #expect(try store.topicCounts(aliases: TopicAliases()).map(\.topic) == ["Audio", "Video"])
        comparison.tools[0].category = "Video"
        comparison.contentHash = "changed again"
        _ = try await store.saveComparison(comparison)
        // A category nobody uses any more counts no comparison; it is not listed.
        await #expect(try store.topicCounts(aliases: TopicAliases()).map(\.topic) == ["Video"])
        await #expect(try store.categories() == ["Video"])
    }

    @Test(arguments: StoreBackend.all)
    func aliasesRenameAndMergeEverywhereThroughOneResolver(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await save("A vs B", ["Developer Tools", "Productivity"], in: store)
        _ = try await save("C vs D", ["Dev Tools", "Writing"], in: store)
        let aliases = TopicAliases(["dev tools": "Developer Tools", "Writing": "Words"])
        await #expect(
            try store.topicCounts(aliases: aliases) == [
                TopicCount(topic: "Developer Tools", comparisons: 2, categories: ["Dev Tools", "Developer Tools"]),
                TopicCount(topic: "Productivity", comparisons: 1, categories: ["Productivity"]),
                TopicCount(topic: "Words", comparisons: 1, categories: ["Writing"]),
            ])
        await #expect(try store.topicCatalog(aliases: aliases).topics == ["Developer Tools", "Productivity", "Words"])
    }

    @Test(arguments: StoreBackend.all)
    func aSubscribersChoiceIsStoredRecordedAndCountedAmongReaders(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let bo = try await store.addSubscriber(email: "bo@example.org", name: nil, status: .confirmed)
        let cy = try await store.addSubscriber(email: "cy@example.org", name: nil, status: .confirmed)
        let pending = try await store.addSubscriber(email: "dee@example.org", name: nil, status: .pending)
        await #expect(try store.topicChoice(subscriberID: ada.id) == .everything)
        await #expect(try store.readerChoices() == [.everything: 3])
        let client = ClientInfo(address: "192.0.2.7", userAgent: "Browser/1.0")
        for id in [ada.id, bo.id, pending.id] {
            try await store.setTopicChoice(TopicChoice(["Writing"]), subscriberID: id, client: client, at: Date())
        }
        // Saving the same choice again records nothing new.
        try await store.setTopicChoice(
            TopicChoice([" Writing "]), subscriberID: ada.id, client: .commandLine, at: Date())
        await #expect(try store.topicChoice(subscriberID: ada.id) == TopicChoice(["Writing"]))
        await #expect(try store.readerChoices() == [TopicChoice(["Writing"]): 2, .everything: 1])
        await #expect(try StoreProbe.consentTrail(ada.id, in: store) == ["topics: topics=Writing"])

        try await store.setTopicChoice(
            TopicChoice(["Writing", "Audio"]), subscriberID: bo.id, client: client, at: Date())
        try await store.setTopicChoice(.everything, subscriberID: ada.id, client: client, at: Date())
        await #expect(try store.topicChoice(subscriberID: bo.id) == TopicChoice(["Audio", "Writing"]))
        await #expect(try store.topicChoice(subscriberID: ada.id) == .everything)
        await #expect(try store.readerChoices() == [TopicChoice(["Audio", "Writing"]): 1, .everything: 2])
        await #expect(
            try StoreProbe.consentTrail(ada.id, in: store) == ["topics: topics=Writing", "topics: topics=everything"])
        await #expect(try StoreProbe.consentTrail(cy.id, in: store).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func onlyReadersWhoGetIssuesAreCounted(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var ids: [Int64] = []
        for index in 0..<5 {
            await ids.append(try store.addSubscriber(email: "r\(index)@example.org", name: nil, status: .confirmed).id)
            try await store.setTopicChoice(
                TopicChoice(["Audio"]), subscriberID: ids[index], client: .commandLine, at: Date())
        }
        try await store.setStatus(.unsubscribed, forSubscriber: ids[0])
        try await store.setStatus(.bounced, forSubscriber: ids[1])
        try await store.setStatus(.pending, forSubscriber: ids[2])
        await #expect(try store.readerChoices() == [TopicChoice(["Audio"]): 2])
        // Whoever has no row of their own is counted once, as everything.
        _ = try await store.addSubscriber(email: "new@example.org", name: nil, status: .confirmed)
        await #expect(try store.readerChoices() == [TopicChoice(["Audio"]): 2, .everything: 1])
    }

    @Test(arguments: StoreBackend.all)
    func theStoredChoicesOfSomeSubscribersComeForExport(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let bo = try await store.addSubscriber(email: "bo@example.org", name: nil, status: .confirmed)
        let cy = try await store.addSubscriber(email: "cy@example.org", name: nil, status: .unsubscribed)
        try await store.setTopicChoice(
            TopicChoice(["Writing", "Audio"]), subscriberID: ada.id, client: .commandLine, at: Date())
        try await store.setTopicChoice(TopicChoice(["Video"]), subscriberID: cy.id, client: .commandLine, at: Date())
        await #expect(try store.topicChoices(subscriberIDs: []).isEmpty)
        await #expect(
            try store.topicChoices(subscriberIDs: [ada.id, bo.id, cy.id, cy.id + 1000])
                == [ada.id: TopicChoice(["Audio", "Writing"]), cy.id: TopicChoice(["Video"])],
            "those without a choice (everything), or unknown, are absent")
        await #expect(try store.topicChoices(subscriberIDs: [bo.id]).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func aChoiceForASubscriberWhoIsGoneIsRefusedAndNothingIsStored(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let gone = ada.id + 1000
        await #expect(throws: (any Error).self) {
            try await store.setTopicChoice(
                TopicChoice(["Writing"]), subscriberID: gone, client: .commandLine, at: Date())
        }
        await #expect(try store.topicChoice(subscriberID: gone) == .everything)
        await #expect(try store.topicChoices(subscriberIDs: [gone]).isEmpty)
        await #expect(try store.readerChoices() == [.everything: 1])
    }
}
