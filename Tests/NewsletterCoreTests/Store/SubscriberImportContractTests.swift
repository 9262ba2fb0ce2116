import Foundation
import NewsletterCore
import Testing

/// NewsletterStore's `importSubscriber`, written once and run against each backend: an import
/// adds confirmed subscribers with a consent record naming the source, and never touches an
/// address already known.
@Suite("Subscriber import contract", .runningStores)
struct SubscriberImportContractTests {
    let t0 = Date(timeIntervalSince1970: 1_795_000_000)

    @Test(arguments: StoreBackend.all)
    func anImportedAddressIsConfirmedWithItsSourceInTheConsentTrail(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(
            try store.importSubscriber(email: "ada@example.org", name: "Ada", topics: nil, source: "list.csv:2", at: t0)
        )
        let ada = try await #require(try store.subscriber(email: "ada@example.org"))
        #expect(ada.name == "Ada" && ada.status == .confirmed && ada.createdAt == t0 && ada.confirmedAt == t0)
        #expect(!ada.paused && ada.format == .html && ada.permanentFailures == 0)
        await #expect(try StoreProbe.consentTrail(ada.id, in: store) == ["import: list.csv:2"])
        await #expect(try store.topicChoice(subscriberID: ada.id) == .everything)
    }

    @Test(arguments: StoreBackend.all)
    func anImportedChoiceOfTopicsIsStoredAndRecorded(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(
            try store.importSubscriber(
                email: "bo@example.org", name: nil, topics: TopicChoice(["Writing", "Audio"]), source: "list.csv:3",
                at: t0))
        let bo = try await #require(try store.subscriber(email: "bo@example.org"))
        await #expect(try store.topicChoice(subscriberID: bo.id) == TopicChoice(["Audio", "Writing"]))
        await #expect(
            try StoreProbe.consentTrail(bo.id, in: store) == [
                "import: list.csv:3", "import-topics: topics=Audio, Writing",
            ])
        // An import's "everything" is no choice at all: nothing more is recorded.
        await #expect(
            try store.importSubscriber(email: "cy@example.org", name: nil, topics: .everything, source: "s", at: t0))
        let cy = try await #require(try store.subscriber(email: "cy@example.org"))
        await #expect(try StoreProbe.consentTrail(cy.id, in: store) == ["import: s"])
    }

    @Test(arguments: StoreBackend.all)
    func anAddressAlreadyKnownInAnyCaseIsLeftExactlyAsItIs(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        try await store.setStatus(.unsubscribed, forSubscriber: ada.id)
        let before = try await #require(try store.subscriber(id: ada.id))
        await #expect(
            try !store.importSubscriber(
                email: "ADA@example.org", name: "Someone", topics: TopicChoice(["Writing"]), source: "old.csv:9", at: t0
            ),
            "an import never undoes an unsubscribe")
        await #expect(try store.subscriber(id: ada.id) == before)
        await #expect(try StoreProbe.consentTrail(ada.id, in: store).isEmpty)
        await #expect(try store.topicChoice(subscriberID: ada.id) == .everything)
        await #expect(try store.subscriberCount(status: nil) == 1)
        // Imported twice: the second finds the first.
        await #expect(try store.importSubscriber(email: "bo@example.org", name: nil, topics: nil, source: "a", at: t0))
        await #expect(try !store.importSubscriber(email: "bo@example.org", name: nil, topics: nil, source: "b", at: t0))
        await #expect(try store.subscriberCount(status: .confirmed) == 1)
    }
}
