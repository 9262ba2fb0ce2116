import Foundation
import NewsletterCore
import Testing

/// What every `SubscriberStore` does, written once and run against each backend.
@Suite("SubscriberStore contract", .runningStores)
struct SubscriberStoreContractTests {
    @Test(arguments: StoreBackend.all)
    func addingAnAddressTwiceInAnyCaseGivesTheSameSubscriber(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: " Ada@Example.org ", name: "Ada", status: .confirmed)
        #expect(ada.email == "Ada@Example.org")
        #expect(ada.name == "Ada")
        #expect(ada.status == .confirmed)
        #expect(ada.permanentFailures == 0 && ada.format == .html && !ada.paused && ada.confirmedAt == nil)
        #expect(abs(ada.createdAt.timeIntervalSinceNow) < 3600)
        let again = try await store.addSubscriber(email: "ada@example.org", name: "Someone Else", status: .pending)
        #expect(again == ada, "an existing address is returned as it is, not changed")
        await #expect(try store.subscriber(email: "ADA@EXAMPLE.ORG") == ada)
        await #expect(try store.subscriber(id: ada.id) == ada)
        await #expect(try store.subscriberCount(status: nil) == 1)
    }

    @Test(arguments: StoreBackend.all)
    func removingASubscriberForgetsThemInAnyCaseOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: "Ada", status: .confirmed)
        let bob = try await store.addSubscriber(email: "bob@example.org", name: nil, status: .confirmed)
        await #expect(try store.removeSubscriber(email: "ADA@example.org"))
        await #expect(try store.subscriber(email: "ada@example.org") == nil)
        await #expect(try store.subscriber(id: ada.id) == nil)
        await #expect(
            try !store.removeSubscriber(email: "ada@example.org"), "the second time there is no one to remove")
        await #expect(try store.subscribers(status: nil, afterID: 0, limit: 10) == [bob])
        // Coming back is a new subscriber, not the old record.
        await #expect(try store.addSubscriber(email: "ada@example.org", name: nil, status: .pending).id != ada.id)
    }

    @Test(arguments: StoreBackend.all)
    func anInvalidAddressIsRefusedAndNothingIsStored(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        await #expect(throws: (any Error).self) {
            try await store.addSubscriber(email: "not an address", name: nil, status: .confirmed)
        }
        await #expect(throws: (any Error).self) {
            try await store.addSubscriber(
                email: "eve@example.org\r\nBcc: all@example.org", name: nil, status: .confirmed)
        }
        await #expect(try store.subscriberCount(status: nil) == 0)
    }

    @Test(arguments: StoreBackend.all)
    func aSubscriberThatIsNotThereIsNil(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let bob = try await store.addSubscriber(email: "bob@example.org", name: nil, status: .confirmed)
        await #expect(try store.subscriber(id: bob.id + 1000) == nil)
        await #expect(try store.subscriber(email: "nobody@example.org") == nil)
        // Setting the status of a row that is gone changes nothing, and is not an error.
        try await store.setStatus(.unsubscribed, forSubscriber: bob.id + 1000)
        await #expect(try store.subscriber(id: bob.id)?.status == .confirmed)
    }

    @Test(arguments: StoreBackend.all)
    func setStatusChangesThatSubscriberOnly(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let bob = try await store.addSubscriber(email: "bob@example.org", name: nil, status: .confirmed)
        for status in Subscriber.Status.allCases {
            try await store.setStatus(status, forSubscriber: ada.id)
            await #expect(try store.subscriber(id: ada.id)?.status == status)
        }
        await #expect(try store.subscriber(id: bob.id)?.status == .confirmed)
    }

    @Test(arguments: StoreBackend.all)
    func subscribersComeInPagesInIDOrderFilteredByStatus(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var added: [Subscriber] = []
        for index in 1...7 {
            await added.append(
                try store.addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed))
        }
        try await store.setStatus(.unsubscribed, forSubscriber: added[1].id)
        try await store.setStatus(.bounced, forSubscriber: added[4].id)
        #expect(added.map(\.id) == added.map(\.id).sorted())

        var confirmed: [Int64] = []
        var after: Int64 = 0
        while true {
            let page = try await store.subscribers(status: .confirmed, afterID: after, limit: 2)
            #expect(page.count <= 2)
            guard let last = page.last else { break }
            confirmed += page.map(\.id)
            after = last.id
        }
        #expect(confirmed == [0, 2, 3, 5, 6].map { added[$0].id })
        await #expect(try store.subscribers(status: nil, afterID: 0, limit: 100).map(\.id) == added.map(\.id))
        await #expect(
            try store.subscribers(status: .bounced, afterID: 0, limit: 100).map(\.email) == ["reader5@example.org"])
        await #expect(try store.subscribers(status: .confirmed, afterID: added[6].id, limit: 100).isEmpty)
        await #expect(try store.subscriberCount(status: .confirmed) == 5)
        await #expect(try store.subscriberCount(status: .unsubscribed) == 1)
        await #expect(try store.subscriberCount(status: .pending) == 0)
        await #expect(try store.subscriberCount(status: nil) == 7)
    }
}
