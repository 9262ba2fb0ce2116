import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import NewsletterCore

/// `/api/v1` through the server's own assembly (`app.test(.router)`): keys, scopes, the rate
/// limit, problem+json for whatever is refused, and the subscribers' pages, on both stores.
@Suite("API routes", .runningStores)
struct APIRoutesTests {
    /// A response, its body parsed as JSON when it is.
    struct Reply {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var text: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
        var contentType: String? { headers[.contentType] }
    }

    static func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, key: String?,
        body: String? = nil, contentType: String = "application/json"
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil { headers[.contentType] = contentType }
        return try await client.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { Reply(status: $0.status, headers: $0.headers, text: String(buffer: $0.body)) }
    }

    /// Runs `body` against the assembly over `store`, with a key of each scope.
    static func withAPI<Store: NewsletterStore>(
        _ store: Store, time: ManualTime = ManualTime(), logger: Logger = Logger(label: "test"),
        configure: (inout Configuration) -> Void = { _ in },
        _ body: @Sendable (any TestClientProtocol, [APIScope: String]) async throws -> Void
    ) async throws {
        var made: [APIScope: String] = [:]
        for scope in APIScope.allCases {
            made[scope] = try await store.createAPIKey(name: "test-\(scope.rawValue)", scope: scope, at: time.now()).secret
        }
        let keys = made
        var dependencies = ServerDependencies()
        dependencies.time = time
        dependencies.runsStorePool = false
        try await TestServer.app(store: store, dependencies: dependencies, logger: logger, configure).test(.router) { client in
            try await body(client, keys)
        }
    }

    static func expectProblem(
        _ reply: Reply, _ status: HTTPResponse.Status, field: String? = nil, mentioning words: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.contentType == "application/problem+json", sourceLocation: sourceLocation)
        let json = reply.json
        #expect(json["status"] as? Int == status.code, sourceLocation: sourceLocation)
        #expect((json["type"] as? String)?.hasPrefix("urn:newsletter:problem:") == true, sourceLocation: sourceLocation)
        #expect(json["title"] as? String == status.reasonPhrase, sourceLocation: sourceLocation)
        if let field { #expect(json["field"] as? String == field, "\(reply.text)", sourceLocation: sourceLocation) }
        if let words {
            #expect((json["detail"] as? String)?.contains(words) == true, "\(reply.text)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: StoreBackend.all)
    func noKeyAWrongKeyAndARevokedKeyAreEach401AndNameTheProblem(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await Self.withAPI(store) { client, keys in
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers", key: nil), .unauthorized, mentioning: "no API key")
            let forged = APIKeySecret.make()
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers", key: forged), .unauthorized,
                field: "Authorization", mentioning: "not one this server issued")
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/topics", key: "not-even-shaped-like-a-key"), .unauthorized,
                field: "Authorization")
            #expect(try await Self.call(client, .get, "/api/v1/subscribers", key: keys[.read]).status == .ok)
            #expect(try await store.revokeAPIKey(name: "test-read", at: Date()))
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers", key: keys[.read]), .unauthorized,
                field: "Authorization", mentioning: "revoked")
        }
    }

    @Test func eachKeyIsRateLimitedOnItsOwnAndToldWhenToComeBack() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        let time = ManualTime()
        try await Self.withAPI(store, time: time, configure: { $0.server.apiRequestsPerMinute = 60; $0.server.apiBurst = 2 }) {
            client, keys in
            for _ in 0..<2 { #expect(try await Self.call(client, .get, "/api/v1/topics", key: keys[.read]).status == .ok) }
            let refused = try await Self.call(client, .get, "/api/v1/topics", key: keys[.read])
            Self.expectProblem(refused, .tooManyRequests, mentioning: "test-read")
            #expect(refused.headers[.retryAfter] == "1")
            // Another key has its own bucket.
            #expect(try await Self.call(client, .get, "/api/v1/topics", key: keys[.write]).status == .ok)
            time.advance(by: .seconds(1))
            #expect(try await Self.call(client, .get, "/api/v1/topics", key: keys[.read]).status == .ok)
        }
    }

    @Test(arguments: StoreBackend.all)
    func theSubscribersComeInCursorPagesEachOnceInIdOrder(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var added: [Int64] = []
        for index in 1...7 {
            added.append(
                try await store.addSubscriber(
                    email: "p\(index)@example.org", name: "P \(index)", status: index == 3 ? .pending : .confirmed
                ).id)
        }
        let ids = added
        try await Self.withAPI(store) { client, keys in
            var seen: [Int64] = []
            var uri = "/api/v1/subscribers?limit=3"
            var pages = 0
            while true {
                let reply = try await Self.call(client, .get, uri, key: keys[.read])
                #expect(reply.status == .ok, "\(reply.text)")
                let items = try #require(reply.json["items"] as? [[String: Any]])
                seen += items.compactMap { ($0["id"] as? Int).map(Int64.init) }
                pages += 1
                guard let next = reply.json["next_cursor"] as? String else { break }
                uri = "/api/v1/subscribers?limit=3&cursor=\(next)"
                try #require(pages < 10, "the cursor never ends")
            }
            #expect(seen == ids)
            #expect(pages == 3)
            let pending = try await Self.call(client, .get, "/api/v1/subscribers?status=pending", key: keys[.read])
            let pendingItems = try #require(pending.json["items"] as? [[String: Any]])
            #expect(pendingItems.map { $0["email"] as? String } == ["p3@example.org"])
            #expect(pendingItems.first?["status"] as? String == "pending")
            #expect(pending.json["next_cursor"] == nil)
        }
    }

    @Test(arguments: StoreBackend.all)
    func theTopicFilterKeepsThoseWhoChoseItAndThoseWhoChoseNothing(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let writing = try await store.addSubscriber(email: "w@example.org", name: nil, status: .confirmed)
        let audio = try await store.addSubscriber(email: "a@example.org", name: nil, status: .confirmed)
        let everything = try await store.addSubscriber(email: "e@example.org", name: nil, status: .confirmed)
        try await store.setTopicChoice(TopicChoice(["Writing"]), subscriberID: writing.id, client: .commandLine, at: Date())
        try await store.setTopicChoice(TopicChoice(["Audio"]), subscriberID: audio.id, client: .commandLine, at: Date())
        try await Self.withAPI(store) { client, keys in
            let reply = try await Self.call(client, .get, "/api/v1/subscribers?topic=Writing", key: keys[.read])
            let items = try #require(reply.json["items"] as? [[String: Any]])
            #expect(items.map { $0["email"] as? String } == ["w@example.org", "e@example.org"])
            #expect(items.first?["topics"] as? [String] == ["Writing"])
            #expect(items.last?["topics"] == nil)
            let one = try await Self.call(client, .get, "/api/v1/subscribers/\(everything.id)", key: keys[.read])
            #expect(one.json["email"] as? String == "e@example.org")
        }
    }

    @Test func badParametersAre400sNamingTheParameterNever500s() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        try await Self.withAPI(store) { client, keys in
            let key = keys[.read]
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers?limit=abc", key: key), .badRequest, field: "limit")
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers?limit=0", key: key), .badRequest, field: "limit")
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers?cursor=zzz", key: key), .badRequest,
                field: "cursor")
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers?status=sleeping", key: key), .badRequest,
                field: "status")
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers/banana", key: key), .badRequest, field: "id")
            Self.expectProblem(
                try await Self.call(client, .get, "/api/v1/subscribers/424242", key: key), .notFound,
                mentioning: "424242")
        }
    }

    @Test func theDocumentIsServedAsItIsInTheSourceTreeWithoutAKey() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        let source = try String(
            contentsOf: TestPaths.repository.appendingPathComponent("Sources/NewsletterAPI/openapi.json"), encoding: .utf8)
        try await Self.withAPI(store) { client, _ in
            let reply = try await Self.call(client, .get, "/api/v1/openapi.json", key: nil)
            #expect(reply.status == .ok)
            #expect(reply.contentType == "application/json")
            #expect(reply.text == source)
        }
    }

    @Test func readingNeedsReadChangingWriteAndWebhooksAdminByOperation() {
        let scope = APIParameterRules.served.scope(forOperation:)
        #expect(scope("listSubscribers") == .read)
        #expect(scope("getIssueReport") == .read)
        #expect(scope("createSubscriber") == .write)
        #expect(scope("deleteSubscriber") == .write)
        #expect(scope("approveIssue") == .write)
        for webhooks in ["listWebhooks", "getWebhook", "listWebhookAttempts", "createWebhook", "deleteWebhook", "testWebhook"] {
            #expect(scope(webhooks) == .admin, "\(webhooks)")
        }
        #expect(scope("somethingNewNobodyClassified") == .admin)
        // Every operation of the document is classified.
        #expect(APIParameterRules.served.scopes.count == 20)
        #expect(APIScope.admin.allows(.write) && APIScope.write.allows(.read) && !APIScope.read.allows(.write))
    }
}
