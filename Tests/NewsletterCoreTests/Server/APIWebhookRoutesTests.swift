import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import NewsletterCore

/// `/api/v1/webhooks` through the server's own assembly, on both stores: each operation goes
/// through `WebhookManagement` or the store, hostile URLs are refused with nothing stored, only
/// admin keys get in, and the signing secret is in the create response and nowhere else.
@Suite("API webhooks", .runningStores)
struct APIWebhookRoutesTests {
    typealias API = APIRoutesTests

    /// 127.0.0.1 allowed as a target, as a test's receiver (or dead port) needs.
    static func allowingLoopback(_ configuration: inout Configuration) {
        configuration.webhooks.targets.allowedNetworks = [IPNetwork("127.0.0.1/32")!]
        configuration.webhooks.timeoutSeconds = 5
    }

    static func create(
        _ client: some TestClientProtocol, key: String?, url: String, events: [String]? = nil
    ) async throws -> API.Reply {
        var body: [String: Any] = ["url": url]
        if let events { body["events"] = events }
        let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await API.call(client, .post, "/api/v1/webhooks", key: key, body: json)
    }

    @Test(arguments: StoreBackend.all)
    func anAdminKeyAddsReadsEnablesAndRemovesAnEndpointEachChangeAuditedUnderItsName(_ backend: StoreBackend)
        async throws
    {
        let store = try await backend.makeStore()
        let reader = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        let deadPort = try SMTPSink.freePort()
        try await API.withAPI(store, configure: Self.allowingLoopback) { client, keys in
            let created = try await Self.create(
                client, key: keys[.admin], url: "http://127.0.0.1:\(deadPort)/hook",
                events: ["subscriber.unsubscribed", "issue.sent", "issue.sent"])
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? Int)
            #expect(created.json["url"] as? String == "http://127.0.0.1:\(deadPort)/hook")
            #expect(created.json["events"] as? [String] == ["subscriber.unsubscribed", "issue.sent"])
            #expect(created.json["enabled"] as? Bool == true)
            #expect((created.json["secret"] as? String)?.hasPrefix("whsec_") == true)

            // Disabled by a 410 from the receiver, as the dispatcher records it.
            _ = try await store.unsubscribe(subscriberID: reader.id, client: .commandLine, at: Date())
            let delivery = try #require(try await store.claimWebhookDeliveries(limit: 10, at: Date(), lease: 60).first)
            let gone = WebhookAttempt(
                endpointID: Int64(id), messageID: delivery.messageID, eventType: delivery.type.rawValue, attempt: 1,
                at: Date(), status: 410, durationMilliseconds: 3, error: "answered 410")
            _ = try await store.recordWebhookAttempts(
                [WebhookAttemptOutcome(deliveryID: delivery.id, attempt: gone)], policy: WebhookRetryPolicy())

            let disabled = try await API.call(client, .get, "/api/v1/webhooks/\(id)", key: keys[.admin])
            #expect(disabled.status == .ok, "\(disabled.text)")
            #expect(disabled.json["enabled"] as? Bool == false)
            #expect((disabled.json["disabled_reason"] as? String)?.contains("410") == true)
            #expect(disabled.json["disabled_at"] is String && disabled.json["failing_since"] is String)
            #expect(disabled.json["pending"] as? Int == 1)
            let listed = try await API.call(client, .get, "/api/v1/webhooks", key: keys[.admin])
            #expect((listed.json["items"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [id])
            #expect(listed.json["next_cursor"] == nil)
            let attempts = try await API.call(client, .get, "/api/v1/webhooks/\(id)/attempts", key: keys[.admin])
            let logged = try #require(attempts.json["items"] as? [[String: Any]])
            #expect(logged.map { $0["status"] as? Int } == [410])
            #expect(logged.first?["webhook_id"] as? String == delivery.messageID)
            #expect(logged.first?["succeeded"] as? Bool == false)

            let enabled = try await API.call(client, .post, "/api/v1/webhooks/\(id)/enable", key: keys[.admin])
            #expect(enabled.status == .ok, "\(enabled.text)")
            #expect(enabled.json["enabled"] as? Bool == true)
            #expect(enabled.json["disabled_at"] == nil)
            #expect(try #require(try await store.webhookEndpoints().first).enabled)

            #expect(
                try await API.call(client, .delete, "/api/v1/webhooks/\(id)", key: keys[.admin]).status == .noContent)
            #expect(try await store.webhookEndpoints().isEmpty)
            API.expectProblem(
                try await API.call(client, .get, "/api/v1/webhooks/\(id)", key: keys[.admin]), .notFound,
                mentioning: "\(id)")
            API.expectProblem(
                try await API.call(client, .delete, "/api/v1/webhooks/\(id)", key: keys[.admin]), .notFound)
            API.expectProblem(
                try await API.call(client, .post, "/api/v1/webhooks/\(id)/enable", key: keys[.admin]), .notFound)
            API.expectProblem(
                try await API.call(client, .post, "/api/v1/webhooks/\(id)/test", key: keys[.admin]), .notFound)
            API.expectProblem(
                try await API.call(client, .get, "/api/v1/webhooks/\(id)/attempts", key: keys[.admin]), .notFound)

            let audit = try await store.auditEntries(subject: "webhook \(id)", limit: 10)
            #expect(Set(audit.map(\.actor)) == ["api-key:test-admin"])
            #expect(Set(audit.map(\.action.rawValue)) == ["webhook.add", "webhook.enable", "webhook.remove"])
        }
    }

    @Test(arguments: StoreBackend.all)
    func hostileURLsAndUnknownEventsAre400sNamingTheFieldWithNothingStored(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        // The default policy: nothing private is allowed.
        try await API.withAPI(store) { client, keys in
            let refused: [(url: String, why: String)] = [
                ("http://127.0.0.1/hook", "loopback"),
                ("http://localhost:8080/hook", "loopback"),
                ("http://[::1]/hook", "loopback"),
                ("http://169.254.169.254/latest/meta-data/", "link-local"),
                ("http://[::ffff:169.254.169.254]/", "link-local"),
                ("http://10.1.2.3/hook", "private"),
                ("http://192.168.1.1/hook", "private"),
                ("http://0.0.0.0/hook", "unspecified"),
                ("file:///etc/passwd", "only http and https"),
                ("gopher://127.0.0.1:25/_HELO", "only http and https"),
                ("http://user:password@127.0.0.1/", "credentials"),
                ("http://exa mple.org/", "space"),
                ("http://" + String(repeating: "a", count: 2_000) + ".org/", "longer than 2,000"),
                ("/relative/path", "not an absolute URL"),
            ]
            for (url, why) in refused {
                API.expectProblem(
                    try await Self.create(client, key: keys[.admin], url: url), .badRequest, field: "url",
                    mentioning: why)
            }
            let unknown = try await Self.create(
                client, key: keys[.admin], url: "http://127.0.0.1/", events: ["issue.sent", "subscriber.exploded"])
            API.expectProblem(unknown, .badRequest, mentioning: "subscriber.exploded")
            #expect((unknown.json["field"] as? String)?.hasPrefix("events") == true, "\(unknown.text)")
            // webhook.test is sent on request only, never subscribed to.
            let test = try await Self.create(
                client, key: keys[.admin], url: "http://127.0.0.1/", events: ["webhook.test"])
            #expect((test.json["field"] as? String)?.hasPrefix("events") == true, "\(test.text)")
            API.expectProblem(
                try await Self.create(client, key: keys[.admin], url: "http://127.0.0.1/", events: []), .badRequest,
                field: "events")
            API.expectProblem(
                try await API.call(client, .post, "/api/v1/webhooks", key: keys[.admin], body: #"{"events": []}"#),
                .badRequest, field: "url")
        }
        #expect(try await store.webhookEndpoints().isEmpty)
        #expect(try await store.auditEntries(subject: nil, limit: 10).isEmpty)
    }

    @Test func readAndWriteKeysAreRefusedEveryWebhookOperationAndNoKeyIsNotLetIn() async throws {
        let store = try AppDatabase.open(
            path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        let endpoint = try await store.addWebhookEndpoint(
            url: "http://127.0.0.1:9/hook", events: [.issueSent], secret: .make(), at: Date())
        let operations: [(HTTPRequest.Method, String, String?)] = [
            (.get, "/api/v1/webhooks", nil),
            (.post, "/api/v1/webhooks", #"{"url": "http://127.0.0.1:9/other"}"#),
            (.get, "/api/v1/webhooks/\(endpoint.id)", nil),
            (.delete, "/api/v1/webhooks/\(endpoint.id)", nil),
            (.post, "/api/v1/webhooks/\(endpoint.id)/enable", nil),
            (.post, "/api/v1/webhooks/\(endpoint.id)/test", nil),
            (.get, "/api/v1/webhooks/\(endpoint.id)/attempts", nil),
        ]
        try await API.withAPI(store, configure: Self.allowingLoopback) { client, keys in
            for (method, uri, body) in operations {
                // The router takes empty path segments away; the gate must not be fooled by them.
                let doubled = [uri, uri.replacingOccurrences(of: "/v1/", with: "/v1//"), "/" + uri]
                for scope in [APIScope.read, .write] {
                    for uri in doubled {
                        API.expectProblem(
                            try await API.call(client, method, uri, key: keys[scope], body: body), .forbidden,
                            mentioning: "needs admin")
                    }
                }
                API.expectProblem(try await API.call(client, method, uri, key: nil, body: body), .unauthorized)
            }
        }
        #expect(try await store.webhookEndpoints().map(\.url) == [endpoint.url])
        #expect(try await store.webhookAttempts(endpointID: nil, limit: 10).isEmpty, "no test was sent")
        #expect(try await store.auditEntries(subject: nil, limit: 10).isEmpty)
    }

    @Test(
        .enabled(if: WebhookReceiver.available, "standardwebhooks is not installed (scripts/setup-test-peers.sh)"),
        arguments: StoreBackend.all)
    func aTestSendIsSignedWithTheSecretShownOnceAndTheSecretIsInNoOtherAnswerNorTheLog(_ backend: StoreBackend)
        async throws
    {
        let store = try await backend.makeStore()
        let log = CapturedLog()
        let port = try SMTPSink.freePort()
        try await API.withAPI(store, logger: log.logger, configure: Self.allowingLoopback) { client, keys in
            let created = try await Self.create(client, key: keys[.admin], url: "http://127.0.0.1:\(port)/hooks")
            #expect(created.status == .created, "\(created.text)")
            let id = try #require(created.json["id"] as? Int)
            let secret = try #require(created.json["secret"] as? String)
            #expect(created.json["events"] as? [String] == WebhookEventType.subscribable.map(\.rawValue))
            // Ended with the test (its process is killed when the receiver goes).
            let receiver = try WebhookReceiver(secret: secret, port: port)

            let sent = try await API.call(client, .post, "/api/v1/webhooks/\(id)/test", key: keys[.admin])
            #expect(sent.status == .ok, "\(sent.text)")
            #expect(sent.json["succeeded"] as? Bool == true, "\(sent.text)")
            #expect(sent.json["status"] as? Int == 204, "the receiver's answer")
            #expect(sent.json["type"] as? String == "webhook.test")
            let received = try receiver.received()
            #expect(received.map(\.verified) == [true], "the receiver verified the signature with the secret")
            #expect(received.first?.id == sent.json["webhook_id"] as? String)

            var answers = [created.text, sent.text]
            for uri in ["/api/v1/webhooks", "/api/v1/webhooks/\(id)", "/api/v1/webhooks/\(id)/attempts"] {
                let reply = try await API.call(client, .get, uri, key: keys[.admin])
                #expect(reply.status == .ok, "\(reply.text)")
                answers.append(reply.text)
            }
            // As JSON writes it too: its base64 may hold a "/", escaped as "\/".
            func holdsSecret(_ text: String) -> Bool {
                text.contains(secret) || text.contains(secret.replacingOccurrences(of: "/", with: "\\/"))
            }
            #expect(answers.map(holdsSecret) == [true, false, false, false, false], "in the create response only")
            #expect(!answers.dropFirst().contains { $0.contains("whsec_") })
            let attempts = try await API.call(client, .get, "/api/v1/webhooks/\(id)/attempts", key: keys[.admin])
            #expect((attempts.json["items"] as? [[String: Any]])?.map { $0["type"] as? String } == ["webhook.test"])

            let audit = try await store.auditEntries(subject: "webhook \(id)", limit: 10)
            #expect(audit.count == 1 && !audit.contains { holdsSecret($0.detail) })

            // Events delivered by the dispatcher, logging to the same log as the server.
            let reader = try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
            _ = try await store.unsubscribe(subscriberID: reader.id, client: .commandLine, at: Date())
            var settings = WebhookSettings()
            settings.targets.allowedNetworks = [IPNetwork("127.0.0.1/32")!]
            let dispatcher = WebhookDispatcher(store: store, settings: settings, logger: log.logger)
            // Added confirmed, then unsubscribed: two events.
            #expect(await dispatcher.drain() == 2)
            #expect(
                try receiver.received().compactMap(\.type).sorted()
                    == ["subscriber.confirmed", "subscriber.unsubscribed", "webhook.test"])
            #expect(log.text.contains("webhook delivered"), "something was logged to look in")
            #expect(!holdsSecret(log.text), "the secret is logged:\n\(log.text)")
        }
    }

    @Test(arguments: StoreBackend.all)
    func aTestSendToADeadEndpointIsAFailedAttemptNotAnError(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let deadPort = try SMTPSink.freePort()
        try await API.withAPI(store, configure: Self.allowingLoopback) { client, keys in
            let id = try #require(
                try await Self.create(client, key: keys[.admin], url: "http://127.0.0.1:\(deadPort)/").json["id"]
                    as? Int)
            let sent = try await API.call(client, .post, "/api/v1/webhooks/\(id)/test", key: keys[.admin])
            #expect(sent.status == .ok, "\(sent.text)")
            #expect(sent.json["succeeded"] as? Bool == false)
            #expect(sent.json["status"] == nil)
            #expect((sent.json["error"] as? String)?.isEmpty == false)
        }
        #expect(try await store.webhookAttempts(endpointID: nil, limit: 10).map(\.eventType) == ["webhook.test"])
    }

    @Test(arguments: StoreBackend.all)
    func endpointsAndAttemptsComeInCursorPagesTheAttemptsNewestFirst(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        var endpoints: [Int64] = []
        for index in 1...3 {
            endpoints.append(
                try await store.addWebhookEndpoint(
                    url: "https://hooks\(index).example.org/", events: [.issueSent], secret: .make(), at: Date()
                ).id)
        }
        for attempt in 1...5 {
            for endpoint in endpoints.prefix(2) {
                try await store.logWebhookAttempt(
                    WebhookAttempt(
                        endpointID: endpoint, messageID: "msg_\(endpoint)", eventType: "issue.sent", attempt: attempt,
                        at: Date(), status: 500, durationMilliseconds: 1, error: "answered 500"))
            }
        }
        let ids = endpoints
        try await API.withAPI(store) { client, keys in
            func pages(_ first: String, item: String) async throws -> [[Int]] {
                var uri = first
                var pages: [[Int]] = []
                while true {
                    let reply = try await API.call(client, .get, uri, key: keys[.admin])
                    #expect(reply.status == .ok, "\(reply.text)")
                    pages.append(try #require(reply.json["items"] as? [[String: Any]]).compactMap { $0[item] as? Int })
                    guard let next = reply.json["next_cursor"] as? String else { return pages }
                    uri = first + "&cursor=\(next)"
                    try #require(pages.count < 10, "the cursor never ends")
                }
            }
            #expect(
                try await pages("/api/v1/webhooks?limit=2", item: "id") == [[Int(ids[0]), Int(ids[1])], [Int(ids[2])]])
            #expect(
                try await pages("/api/v1/webhooks/\(ids[1])/attempts?limit=2", item: "attempt") == [
                    [5, 4], [3, 2], [1],
                ])
            #expect(try await pages("/api/v1/webhooks/\(ids[2])/attempts?limit=2", item: "attempt") == [[]])
            API.expectProblem(
                try await API.call(client, .get, "/api/v1/webhooks/\(ids[0])/attempts?cursor=zzz", key: keys[.admin]),
                .badRequest, field: "cursor")
            API.expectProblem(
                try await API.call(client, .get, "/api/v1/webhooks?limit=0", key: keys[.admin]), .badRequest,
                field: "limit")
            API.expectProblem(
                try await API.call(client, .get, "/api/v1/webhooks/banana", key: keys[.admin]), .badRequest, field: "id"
            )
            API.expectProblem(
                try await API.call(client, .post, "/api/v1/webhooks/0/test", key: keys[.admin]), .badRequest,
                field: "id")
        }
    }
}

/// Every line a logger writes, with its metadata, as text (to look for what must not be there).
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(log: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            log.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }
}
