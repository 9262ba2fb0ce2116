import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// `GET /r/{id}` through the server's own assembly: a 302 to the stored target for a link of a
/// sent issue, 404 (never a 5xx, never a redirect elsewhere) for any other id.
@Suite(.runningStores)
struct ClickRedirectTests {
    static let sent = try! IssueWeek(parsing: "2026-W47")
    static let draft = try! IssueWeek(parsing: "2026-W48")

    /// A sent week with two links and an unsent draft with one.
    static func store(_ backend: StoreBackend) async throws -> any ContractStore {
        let store = try await backend.makeStore()
        for (week, links) in [
            (sent, [("sentlinkaaa2", "https://tools.example/a?x=1&y=2"), ("sentlinkbbb3", "https://tools.example/b")]),
            (draft, [("draftlinkaa4", "https://tools.example/secret-draft")]),
        ] {
            var issue = IssueDraft(
                week: week, subject: "S", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h\(week)")
            issue.links = links.map {
                TrackedLink(id: $0.0, week: week, variant: "everything", comparisonID: nil, target: $0.1)
            }
            try await store.saveDraft(issue)
        }
        try await store.markSent(sent, at: Date())
        return store
    }

    static func counter(_ store: any ContractStore) -> ClickCounter {
        ClickCounter(store: store, interval: .seconds(5), time: ManualTime(), logger: .init(label: "test"))
    }

    /// The redirect's routes over `store`, counting into `counter`. Not the whole assembly:
    /// it would run the PostgreSQL store's pool a second time (`.runningStores` runs it);
    /// `theServerRoutesTheRedirect` checks the assembly has them.
    func serve<Store: ContractStore>(
        _ store: Store, counter: ClickCounter, readerKey: ClickReaderKey? = nil,
        _ requests: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let router = Router(context: EndpointRequestContext.self)
        ClickRoutes(store: store, counter: counter, readerKey: readerKey, trustForwardedFor: false).register(on: router)
        try await Application(router: router).test(.router, requests)
    }

    @Test func theServerRoutesTheRedirect() async throws {
        let store = try await Self.store(.sqlite)
        let counter = Self.counter(store)
        var dependencies = ServerDependencies()
        dependencies.clicks = counter
        try await TestServer.app(store: store as! AppDatabase, dependencies: dependencies).test(.router) { client in
            try await client.execute(uri: "/r/sentlinkbbb3", method: .get) {
                #expect($0.status == .found && $0.headers[.location] == "https://tools.example/b")
            }
        }
        await counter.flush()
        #expect(try await store.linkClicks(Self.sent).map(\.clicks) == [0, 1])
    }

    @Test(arguments: StoreBackend.all)
    func aSentLinkRedirectsToItsStoredTargetAndIsCounted(_ backend: StoreBackend) async throws {
        let store = try await Self.store(backend)
        let counter = Self.counter(store)
        try await serve(store, counter: counter) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/r/sentlinkaaa2", method: .get, headers: [.userAgent: "Mozilla/5.0"]) {
                    #expect($0.status == .found)
                    #expect($0.headers[.location] == "https://tools.example/a?x=1&y=2")
                    #expect($0.headers[.cacheControl] == "no-store")
                }
            }
        }
        await counter.flush()
        let clicks = try await store.linkClicks(Self.sent)
        #expect(clicks.map(\.clicks) == [2, 0] && clicks.map(\.scannerClicks) == [0, 0])
    }

    @Test(arguments: StoreBackend.all)
    func everyOtherIdIsNotFoundWithoutALocation(_ backend: StoreBackend) async throws {
        let store = try await Self.store(backend)
        let counter = Self.counter(store)
        let hostile = [
            "/r/unknownaaa2",  // well formed, not stored
            "/r/draftlinkaa4",  // a draft's: no way to find drafts by trying ids
            "/r/" + String(repeating: "a", count: 5000),  // over-long
            "/r/SENTLINKAAA2",  // wrong alphabet
            "/r/sentlinkaaa2%0d%0aSet-Cookie:%20x=1",  // header injection through the id
            "/r/sentlinka'2;",
            "/r/",
        ]
        try await serve(store, counter: counter) { client in
            for uri in hostile {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(response.headers[.location] == nil, "\(uri)")
                    #expect(response.headers[values: HTTPField.Name("Set-Cookie")!].isEmpty)
                }
            }
        }
        await counter.flush()
        #expect(try await store.linkClicks(Self.draft).map(\.clicks) == [0])
    }

    @Test(arguments: StoreBackend.all)
    func aStoredTargetThatCouldInjectAHeaderIsNeverSent(_ backend: StoreBackend) async throws {
        let store = try await Self.store(backend)
        // Not through the rewriter, which refuses it: straight into the store, as a tampered row.
        let week = try IssueWeek(parsing: "2026-W46")
        var issue = IssueDraft(
            week: week, subject: "S", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h")
        issue.links = [
            TrackedLink(
                id: "tamperedaaa2", week: week, variant: "everything", comparisonID: nil,
                target: "https://evil.example/\r\nSet-Cookie: x=1"),
            TrackedLink(
                id: "tamperedbbb3", week: week, variant: "everything", comparisonID: nil, target: "javascript:alert(1)"),
        ]
        try await store.saveDraft(issue)
        try await store.markSent(week, at: Date())
        try await serve(store, counter: Self.counter(store)) { client in
            for id in ["tamperedaaa2", "tamperedbbb3"] {
                try await client.execute(uri: "/r/\(id)", method: .get) { response in
                    #expect(response.status == .notFound)
                    #expect(response.headers[.location] == nil)
                    #expect(response.headers[values: HTTPField.Name("Set-Cookie")!].isEmpty)
                }
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func scannersAreCountedApart(_ backend: StoreBackend) async throws {
        let store = try await Self.store(backend)
        let counter = Self.counter(store)
        try await serve(store, counter: counter) { client in
            try await client.execute(uri: "/r/sentlinkaaa2", method: .head) { #expect($0.status == .found) }
            try await client.execute(
                uri: "/r/sentlinkaaa2", method: .get, headers: [.userAgent: "Mozilla/5.0 (compatible; Barracuda)"]
            ) { #expect($0.status == .found) }
            try await client.execute(uri: "/r/sentlinkbbb3", method: .get, headers: [.userAgent: "Mozilla/5.0"]) {
                #expect($0.status == .found)
            }
        }
        await counter.flush()
        let clicks = try await store.linkClicks(Self.sent)
        #expect(clicks.map(\.clicks) == [0, 1])
        #expect(clicks.map(\.scannerClicks) == [2, 0])
    }

    @Test(arguments: StoreBackend.all)
    func perReaderLinksCountTheReaderWhoseSignatureHolds(_ backend: StoreBackend) async throws {
        let store = try await Self.store(backend)
        let ada = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let key = try #require(ClickReaderKey(secret: String(repeating: "k", count: 40)))
        let counter = Self.counter(store)
        let token = key.token(subscriberID: ada.id, week: Self.sent)
        let forged = key.token(subscriberID: ada.id, week: Self.draft)
        try await serve(store, counter: counter, readerKey: key) { client in
            try await client.execute(uri: "/r/sentlinkaaa2/\(token)", method: .get) { #expect($0.status == .found) }
            // Another week's signature still redirects, counted for nobody.
            try await client.execute(uri: "/r/sentlinkbbb3/\(forged)", method: .get) { #expect($0.status == .found) }
        }
        await counter.flush()
        let clicks = try await store.linkClicks(Self.sent)
        #expect(clicks.map(\.clicks) == [1, 1])
        #expect(clicks.map(\.readers) == [1, 0])
    }
}
