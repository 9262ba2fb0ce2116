import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import NewsletterCore
import Testing

/// The subscriber routes through `app.test(.router)`, on a real SQLite store: signup, double
/// opt-in, preferences and the one-click unsubscribe, and what they do with hostile input.
struct SubscriberRoutesTests {
    let store: AppDatabase
    let token: String
    let week = try! IssueWeek(parsing: "2026-W47")
    let metrics = EndpointMetrics()

    init() async throws {
        store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        try await store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h"))
        _ = try await store.addSubscriber(email: "o'neil@example.org", name: "Tess <O'Neil>", status: .confirmed)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        token = try await #require(try store.claimDeliveries(week, limit: 1, runStarted: Date()).first).unsubscribeToken
    }

    static let templates = try! TemplateSet.load(
        directory: TestPaths.repository.appendingPathComponent("templates").path)

    func app(server: Configuration.Server = .init(), time: any TimeSource = SystemTime()) throws
        -> some ApplicationProtocol
    {
        var dependencies = ServerDependencies()
        dependencies.time = time
        dependencies.metrics = metrics
        return try TestServer.app(store: store, dependencies: dependencies) { $0.server = server }
    }

    var status: Subscriber.Status? {
        get async { try? await store.subscriber(email: "o'neil@example.org")?.status }
    }

    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func formBody(_ fields: [(String, String)]) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return ByteBuffer(
            string: fields.map {
                "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)"
            }.joined(separator: "&"))
    }

    func subscribe(_ client: some TestClientProtocol, _ fields: [(String, String)], headers: HTTPFields = form)
        async throws -> (HTTPResponse.Status, String)
    {
        try await client.execute(uri: "/subscribe", method: .post, headers: headers, body: Self.formBody(fields)) {
            ($0.status, String(buffer: $0.body))
        }
    }

    // MARK: - Signup

    @Test func theSignupPageIsAPlainFormWithLabelsAndAHiddenTrap() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body.contains("<form method=\"post\" action=\"/subscribe\">"))
                #expect(body.contains("<label for=\"email\">") && body.contains("<label for=\"name\">"))
                #expect(body.contains("name=\"website\"") && body.contains("tabindex=\"-1\""))
                #expect(!body.contains("<script"))
            }
        }
    }

    @Test func aSignupIsPendingWithAConfirmationQueuedAndAConsentRecord() async throws {
        try await app().test(.router) { client in
            let (status, body) = try await subscribe(client, [("email", "ada@example.org"), ("name", "Ada")])
            #expect(status == .ok)
            #expect(body.contains("Check your inbox"))
        }
        let ada = try await #require(try store.subscriber(email: "ada@example.org"))
        #expect(ada.status == .pending && ada.name == "Ada")
        await #expect(try store.endpointMails(subscriberID: ada.id).map(\.kind) == [.confirmation])
        await #expect(try store.consentRecords(subscriberID: ada.id).map(\.event) == ["signup"])
        #expect(metrics.value(.signup) == 1)
    }

    @Test func theAnswerIsTheSameWhateverTheAddressStateAndAConfirmedAddressGetsNothing() async throws {
        try await app().test(.router) { client in
            let (newStatus, newBody) = try await subscribe(client, [("email", "new@example.org")])
            let (knownStatus, knownBody) = try await subscribe(client, [("email", "O'Neil@Example.org")])
            #expect(newStatus == knownStatus)
            #expect(newBody == knownBody)
        }
        let tess = try await #require(try store.subscriber(email: "o'neil@example.org"))
        #expect(tess.status == .confirmed)
        await #expect(try store.endpointMails(subscriberID: tess.id).isEmpty)
    }

    @Test func aHundredRapidSignupsForOneAddressQueueOneConfirmation() async throws {
        var server = Configuration.Server()
        server.postsPerMinutePerClient = 1000
        try await app(server: server).test(.router) { client in
            for _ in 0..<100 {
                let (status, _) = try await subscribe(client, [("email", "target@example.org")])
                #expect(status == .ok)
            }
        }
        let target = try await #require(try store.subscriber(email: "target@example.org"))
        await #expect(try store.endpointMails(subscriberID: target.id).count == 1)
        #expect(metrics.value(.signupThrottled) == 99)
    }

    @Test func aSignupInJSONGetsJSON() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/subscribe", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"email": "json@example.org", "name": null}"#)
            ) { response in
                #expect(response.status == .accepted)
                #expect(response.headers[.contentType] == "application/json")
                #expect(String(buffer: response.body).contains("check-your-inbox"))
            }
        }
        await #expect(try store.subscriber(email: "json@example.org")?.status == .pending)
    }

    @Test(arguments: [
        ("", "is required"), ("plainaddress", "exactly one @"), ("a@b@example.org", "exactly one @"),
        ("@example.org", "1–64 characters"), ("ada@localhost", "dotted host name"), ("ada@exa mple.org", "dotted host"),
        ("a..b@example.org", "may hold letters"), ("ada@-example.org", "dotted host"),
        (String(repeating: "a", count: 65) + "@example.org", "1–64 characters"), ("<script>@example.org", "may hold"),
    ])
    func aMalformedAddressIs422NamingTheField(address: String, reason: String) async throws {
        try await app().test(.router) { client in
            let (status, body) = try await subscribe(client, [("email", address)])
            #expect(status == .unprocessableContent)
            #expect(body.contains("the field &quot;email&quot;"))
            #expect(body.contains(reason), "\(body)")
        }
        await #expect(try store.subscriberCount(status: .pending) == 0)
    }

    @Test func crLfAndNulAreRefusedInFormsAndJSON() async throws {
        try await app().test(.router) { client in
            for body in [
                "email=ada%40example.org%0D%0ABcc%3A%20victim%40example.org", "email=ada%40example.org&name=A%0Ab",
                "email=ada%40example.org%00",
            ] {
                try await client.execute(
                    uri: "/subscribe", method: .post, headers: Self.form, body: ByteBuffer(string: body)
                ) {
                    #expect($0.status == .badRequest, "\(body)")
                    #expect(String(buffer: $0.body).contains("CR, LF or NUL"))
                }
            }
            try await client.execute(
                uri: "/subscribe", method: .post, headers: [.contentType: "application/json"],
                body: ByteBuffer(string: #"{"email": "ada@example.org\r\nRCPT TO:<x@example.org>"}"#)
            ) {
                #expect($0.status == .badRequest)
            }
        }
        await #expect(try store.subscriberCount(status: .pending) == 0)
    }

    @Test func invalidUTF8AndBrokenEncodingAre400() async throws {
        try await app().test(.router) { client in
            for body in ["email=ada%40example.org&name=%C3%28", "email=ada%4"] {
                try await client.execute(
                    uri: "/subscribe", method: .post, headers: Self.form, body: ByteBuffer(string: body)
                ) {
                    #expect($0.status == .badRequest, "\(body)")
                }
            }
            var raw = ByteBuffer(string: #"{"email": "ada@example.org", "name": ""#)
            raw.writeBytes([0xFF, 0xFE])
            raw.writeString(#""}"#)
            try await client.execute(
                uri: "/subscribe", method: .post, headers: [.contentType: "application/json"], body: raw
            ) {
                #expect($0.status == .badRequest)
                #expect(String(buffer: $0.body).contains("not valid UTF-8"))
            }
        }
    }

    @Test func aOneMegabyteBodyAndAnUnsupportedTypeAreRefused() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/subscribe", method: .post, headers: Self.form,
                body: ByteBuffer(string: "email=ada%40example.org&name=" + String(repeating: "x", count: 1 << 20))
            ) {
                #expect($0.status == .contentTooLarge)
            }
            try await client.execute(
                uri: "/subscribe", method: .post, headers: [.contentType: "text/xml"],
                body: ByteBuffer(string: "<email>ada@example.org</email>")
            ) {
                #expect($0.status == .unsupportedMediaType)
                #expect(String(buffer: $0.body).contains("application/x-www-form-urlencoded"))
            }
        }
        await #expect(try store.subscriberCount(status: .pending) == 0)
    }

    @Test func sqlMetacharactersAreStoredAsTextAndScriptTagsAreEscapedWhereShown() async throws {
        let name = "Robert'); DROP TABLE subscriber;-- <script>alert(1)</script>"
        try await app().test(.router) { client in
            let (status, _) = try await subscribe(client, [("email", "bobby+tables@example.org"), ("name", name)])
            #expect(status == .ok)
        }
        let bobby = try await #require(try store.subscriber(email: "bobby+tables@example.org"))
        #expect(bobby.name == name)
        await #expect(try store.subscriberCount(status: nil) == 2)
        // Confirm, then look at the preferences page, which shows the stored name.
        let confirm = try await store.newConfirmationToken(subscriberID: bobby.id, lifetime: 3600, at: Date())
        _ = try await store.confirm(token: confirm, client: .commandLine, at: Date())
        let preferences = try await store.newUnsubscribeToken(subscriberID: bobby.id, at: Date())
        try await app().test(.router) { client in
            try await client.execute(uri: "/preferences/\(preferences)", method: .get) {
                let body = String(buffer: $0.body)
                #expect(!body.contains("<script>alert"))
                #expect(body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            }
        }
    }

    @Test func aFilledHoneypotGetsTheSameAnswerAndStoresNothing() async throws {
        try await app().test(.router) { client in
            let (status, body) = try await subscribe(
                client, [("email", "bot@example.org"), ("website", "http://spam.example")])
            #expect(status == .ok && body.contains("Check your inbox"))
        }
        await #expect(try store.subscriber(email: "bot@example.org") == nil)
        #expect(metrics.value(.honeypot) == 1)
    }

    @Test func oneClientIsRateLimitedWith429AndRetryAfter() async throws {
        var server = Configuration.Server()
        server.postsPerMinutePerClient = 3
        server.trustForwardedFor = true
        // The clock stands still unless the test moves it: however slow the machine, the bucket
        // refills only when the test says time has passed.
        let time = ManualTime()
        try await app(server: server, time: time).test(.router) { client in
            var statuses: [HTTPResponse.Status] = []
            var retryAfter: [String] = []
            func post(_ index: Int) async throws {
                var headers = Self.form
                headers[HTTPField.Name("X-Forwarded-For")!] = "198.51.100.7"
                try await client.execute(
                    uri: "/subscribe", method: .post, headers: headers,
                    body: Self.formBody([("email", "r\(index)@example.org")])
                ) { response in
                    statuses.append(response.status)
                    if response.status == .tooManyRequests { retryAfter.append(response.headers[.retryAfter] ?? "") }
                }
            }
            for index in 0..<4 { try await post(index) }
            #expect(statuses == [.ok, .ok, .ok, .tooManyRequests])
            // Three a minute: one more in 20 seconds, not before.
            #expect(retryAfter == ["20"])
            time.advance(by: .seconds(19))
            try await post(4)
            time.advance(by: .seconds(2))
            try await post(5)
            #expect(statuses.suffix(2) == [.tooManyRequests, .ok])
            // Another client is not affected.
            var other = Self.form
            other[HTTPField.Name("X-Forwarded-For")!] = "203.0.113.9"
            let (status, _) = try await subscribe(client, [("email", "other@example.org")], headers: other)
            #expect(status == .ok)
        }
        await #expect(try store.subscriber(email: "r3@example.org") == nil)
        await #expect(try store.subscriber(email: "r4@example.org") == nil)
        await #expect(try store.subscriber(email: "r5@example.org") != nil)
        let consent = try await store.consentRecords(
            subscriberID: try #require(try store.subscriber(email: "r0@example.org")).id)
        #expect(consent.first?.clientAddress == "198.51.100.7")
    }

    // MARK: - Confirmation

    func pendingToken(_ email: String = "ada@example.org", issuedAt: Date = Date(), lifetime: TimeInterval = 3 * 86400)
        async throws -> (Int64, String)
    {
        let outcome = try await store.requestSignup(
            try MailAddress(email), name: nil, client: .commandLine, policy: SignupPolicy(), at: issuedAt)
        guard case .confirmationQueued(let id) = outcome else { throw CancellationError() }
        return (id, try await store.newConfirmationToken(subscriberID: id, lifetime: lifetime, at: issuedAt))
    }

    @Test func aConfirmationGETShowsAButtonAndThePOSTConfirmsOnce() async throws {
        let (id, confirm) = try await pendingToken()
        try await app().test(.router) { client in
            try await client.execute(uri: "/confirm/\(confirm)", method: .get) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).contains("<form method=\"post\" action=\"/confirm/\(confirm)\">"))
            }
            await #expect(try store.subscriber(id: id)?.status == .pending)
            try await client.execute(uri: "/confirm/\(confirm)", method: .post) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).contains("You are subscribed"))
            }
            // Replayed: refused, and nothing more queued.
            for method in [HTTPRequest.Method.post, .get] {
                try await client.execute(uri: "/confirm/\(confirm)", method: method) {
                    #expect($0.status == .gone)
                    #expect(String(buffer: $0.body).contains("already used"))
                }
            }
        }
        let subscriber = try await #require(try store.subscriber(id: id))
        #expect(subscriber.status == .confirmed && subscriber.confirmedAt != nil)
        await #expect(try store.endpointMails(subscriberID: id).map(\.kind) == [.confirmation, .welcome])
        await #expect(try store.consentRecords(subscriberID: id).map(\.event) == ["signup", "confirm"])
    }

    @Test func anExpiredConfirmationIsGoneAndConfirmsNothing() async throws {
        let (id, confirm) = try await pendingToken(issuedAt: Date().addingTimeInterval(-4 * 86400))
        try await app().test(.router) { client in
            try await client.execute(uri: "/confirm/\(confirm)", method: .post) {
                #expect($0.status == .gone)
                #expect(String(buffer: $0.body).contains("expired"))
            }
        }
        await #expect(try store.subscriber(id: id)?.status == .pending)
    }

    @Test func confirmationTokensAreStoredOnlyAsHashesAndUnsubscribeTokensCannotConfirm() async throws {
        let (id, confirm) = try await pendingToken()
        // The database and its write-ahead log hold the token's SHA-256, never the token.
        let files = try [store.path, store.path + "-wal"].filter { FileManager.default.fileExists(atPath: $0) }
            .map { try String(contentsOfFile: $0, encoding: .isoLatin1) }.joined()
        #expect(!files.contains(confirm))
        #expect(files.contains(Hex.sha256(Array(confirm.utf8))))
        #expect(confirm.utf8.count == 43)  // 256 random bits, URL-safe base64
        try await app().test(.router) { client in
            try await client.execute(uri: "/confirm/\(token)", method: .post) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/unsubscribe/\(confirm)", method: .post) { #expect($0.status == .notFound) }
        }
        await #expect(try store.subscriber(id: id)?.status == .pending)
    }

    // MARK: - Preferences

    @Test func preferencesChangeNameFormatAndPauseAndPausedSubscribersGetNoIssue() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/preferences/\(token)", method: .get) {
                let body = String(buffer: $0.body)
                #expect(body.contains("value=\"Tess &lt;O&#39;Neil&gt;\""))
                #expect(body.contains("value=\"html\" checked"))
            }
            try await client.execute(
                uri: "/preferences/\(token)", method: .post, headers: Self.form,
                body: Self.formBody([("name", "Tess"), ("format", "text"), ("paused", "1")])
            ) {
                #expect($0.status == .ok)
                let body = String(buffer: $0.body)
                #expect(
                    body.contains("Saved.") && body.contains("value=\"text\" checked")
                        && body.contains("value=\"1\" checked"))
            }
            try await client.execute(
                uri: "/preferences/\(token)", method: .post, headers: Self.form,
                body: Self.formBody([("format", "pdf")])
            ) {
                #expect($0.status == .unprocessableContent)
            }
        }
        let tess = try await #require(try store.subscriber(email: "o'neil@example.org"))
        #expect(tess.name == "Tess" && tess.format == .text && tess.paused && tess.status == .confirmed)
        let next = try IssueWeek(parsing: "2026-W48")
        await #expect(try store.prepareDelivery(next, addSubscribers: true).added == 0)
    }

    // MARK: - Unsubscribe

    @Test func aGETShowsAButtonAndNeverUnsubscribes() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/unsubscribe/\(token)", method: .get) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body.contains("<form method=\"post\" action=\"/unsubscribe/\(token)\">"))
                #expect(body.contains("o&#39;neil@example.org"))
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            }
        }
        #expect(await status == .confirmed)
    }

    @Test func oneClickPOSTUnsubscribesAtOnceIdempotentlyAndWithoutRedirect() async throws {
        try await app().test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(
                    uri: "/unsubscribe/\(token)", method: .post, headers: Self.form,
                    body: ByteBuffer(string: "List-Unsubscribe=One-Click")
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.location] == nil)
                    #expect(String(buffer: response.body).contains("You are unsubscribed"))
                }
            }
        }
        #expect(await status == .unsubscribed)
        #expect(metrics.value(.unsubscribe) == 1)
        let id = try await #require(try store.subscriber(email: "o'neil@example.org")).id
        await #expect(try store.consentRecords(subscriberID: id).map(\.event) == ["unsubscribe"])
    }

    @Test func oneClickUnsubscribesAreNeverRateLimited() async throws {
        var server = Configuration.Server()
        server.postsPerMinutePerClient = 1
        try await app(server: server).test(.router) { client in
            for _ in 0..<5 {
                try await client.execute(
                    uri: "/unsubscribe/\(token)", method: .post, headers: Self.form,
                    body: ByteBuffer(string: "List-Unsubscribe=One-Click")
                ) { #expect($0.status == .ok) }
            }
        }
        #expect(await status == .unsubscribed)
    }

    @Test func theRateLimiterForgetsRefilledClientsAndStaysBounded() {
        let time = ManualTime()
        let limiter = RateLimiter(perMinute: 60, burst: 2, maxKeys: 100, time: time)
        for index in 0..<1000 {
            _ = limiter.check("198.51.100.\(index)")
            _ = limiter.check("198.51.100.\(index)")
        }
        #expect(limiter.count <= 100)
        // A client that is out of tokens is still refused after the churn...
        time.advance(by: .milliseconds(10))
        _ = limiter.check("203.0.113.1")
        _ = limiter.check("203.0.113.1")
        #expect(limiter.check("203.0.113.1") == 1)
        // ...and allowed again once its bucket has refilled.
        time.advance(by: .seconds(2))
        #expect(limiter.check("203.0.113.1") == nil)
    }

    @Test func aSignupForAnUnsubscribedAddressChangesNothingUntilConfirmed() async throws {
        _ = try await store.unsubscribe(token: token, client: .commandLine, at: Date())
        try await app().test(.router) { client in
            let (status, _) = try await subscribe(client, [("email", "o'neil@example.org"), ("name", "Mallory")])
            #expect(status == .ok)
        }
        let tess = try await #require(try store.subscriber(email: "o'neil@example.org"))
        #expect(tess.status == .unsubscribed && tess.name == "Tess <O'Neil>")
        await #expect(try store.endpointMails(subscriberID: tess.id).map(\.kind) == [.confirmation])
        let confirm = try await store.newConfirmationToken(subscriberID: tess.id, lifetime: 3600, at: Date())
        await #expect(
            try store.confirm(token: confirm, client: .commandLine, at: Date())
                == .confirmed(email: "o'neil@example.org"))
        await #expect(try store.subscriber(email: "o'neil@example.org")?.status == .confirmed)
    }

    @Test func oneClickAcceptsMultipartBodies() async throws {
        let boundary = "xYzZY"
        let body =
            "--\(boundary)\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--\(boundary)--\r\n"
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/unsubscribe/\(token)", method: .post,
                headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: ByteBuffer(string: body)
            ) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(await status == .unsubscribed)
    }

    @Test func unknownAndMalformedTokensAre404AndChangeNothing() async throws {
        let unknown = String(token.reversed())
        try await app().test(.router) { client in
            for uri in [
                "/unsubscribe/\(unknown)", "/unsubscribe/short", "/unsubscribe/%27%20OR%201%3D1%20--",
                "/preferences/\(unknown)", "/confirm/\(unknown)",
            ] {
                try await client.execute(uri: uri, method: .post) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(String(buffer: response.body).contains("Link not recognised"))
                }
            }
        }
        #expect(await status == .confirmed)
    }

    @Test func anOversizedBodyIsRefused() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/unsubscribe/\(token)", method: .post, body: ByteBuffer(repeating: 65, count: 1 << 20)
            ) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
        #expect(await status == .confirmed)
    }
}
