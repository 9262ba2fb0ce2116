import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The preferences page's "download my data" and "erase me", through the production router on
/// a SQLite store (the workflows under them are checked on both stores by
/// `ReaderDataContractTests`): the link token is the authority, the erase posts need the page's
/// form token and a confirmation, and anything forged or stale changes nothing.
struct ReaderDataRoutesTests {
    let store: AppDatabase
    let adaToken: String
    let bobToken: String
    let week = try! IssueWeek(parsing: "2026-W47")
    let time = ManualTime()

    init() async throws {
        store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        try await store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h"))
        _ = try await store.addSubscriber(email: "ada@example.org", name: "Ada <Lovelace>", status: .confirmed)
        _ = try await store.addSubscriber(email: "bob@example.org", name: "Bob", status: .confirmed)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        let claims = try await store.claimDeliveries(week, limit: 2, runStarted: Date())
        adaToken = try #require(claims.first { $0.subscriber.email == "ada@example.org" }).unsubscribeToken
        bobToken = try #require(claims.first { $0.subscriber.email == "bob@example.org" }).unsubscribeToken
    }

    func app() throws -> some ApplicationProtocol {
        var dependencies = ServerDependencies()
        dependencies.time = time
        return try TestServer.app(store: store, dependencies: dependencies)
    }

    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    func post(_ client: some TestClientProtocol, _ uri: String, _ fields: [(String, String)]) async throws
        -> (HTTPResponse.Status, String)
    {
        try await client.execute(
            uri: uri, method: .post, headers: Self.form, body: SubscriberRoutesTests.formBody(fields)
        ) { ($0.status, String(buffer: $0.body)) }
    }

    /// The erase form's token, as the preferences page of `token` gives it.
    func formToken(_ client: some TestClientProtocol, for token: String) async throws -> String {
        let page = try await client.execute(uri: "/preferences/\(token)", method: .get) { String(buffer: $0.body) }
        let marker = "name=\"form_token\" value=\""
        let start = try #require(page.range(of: marker)).upperBound
        return String(page[start...].prefix { $0 != "\"" })
    }

    var adaExists: Bool { get async throws { try await store.subscriber(email: "ada@example.org") != nil } }

    @Test func thePreferencesPageOffersTheDownloadAndTheEraseForm() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/preferences/\(adaToken)", method: .get) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("href=\"/preferences/\(adaToken)/data\""))
                #expect(body.contains("<form method=\"post\" action=\"/preferences/\(adaToken)/erase\">"))
                #expect(body.contains("name=\"form_token\" value=\""))
            }
        }
    }

    @Test func theDownloadIsAnUncachedAttachmentWithOnlyThatReadersData() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/preferences/\(adaToken)/data", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentDisposition] == "attachment; filename=\"my-data.json\"")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[.contentType] == "application/json; charset=utf-8")
                let data = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                let subscriber = data?["subscriber"] as? [String: Any]
                #expect(subscriber?["email"] as? String == "ada@example.org")
                #expect(subscriber?["name"] as? String == "Ada <Lovelace>")
                #expect((data?["deliveries"] as? [Any])?.count == 1)
                #expect(!String(buffer: response.body).contains("bob@"))
            }
            let forged = String(repeating: "A", count: 43)
            try await client.execute(uri: "/preferences/\(forged)/data", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(!String(buffer: response.body).contains("@example.org"))
            }
        }
    }

    @Test func erasingTakesTheFormTokenAndAConfirmation() async throws {
        try await app().test(.router) { client in
            let token = try await formToken(client, for: adaToken)
            let (status, page) = try await post(client, "/preferences/\(adaToken)/erase", [("form_token", token)])
            #expect(status == .ok && page.contains("Yes, erase me") && page.contains("name=\"confirm\" value=\"yes\""))
            #expect(try await adaExists, "the first post only asks")
            let confirmToken = try #require(
                page.range(of: "name=\"form_token\" value=\"").map { String(page[$0.upperBound...].prefix { $0 != "\"" }) })
            let (erased, done) = try await post(
                client, "/preferences/\(adaToken)/erase", [("form_token", confirmToken), ("confirm", "yes")])
            #expect(erased == .ok && done.contains("You are erased"))
            #expect(try await !adaExists)
            #expect(try await store.auditEntries(subject: nil, limit: 5).map(\.actor) == ["reader"])
            #expect(try await store.subscriber(email: "bob@example.org") != nil)
            // The link now belongs to nobody.
            let (again, _) = try await post(
                client, "/preferences/\(adaToken)/erase", [("form_token", confirmToken), ("confirm", "yes")])
            #expect(again == .notFound)
        }
        await #expect(throws: AddressSuppressed.self) {
            try await store.addSubscriber(email: "ada@example.org", name: nil, status: .confirmed)
        }
    }

    @Test func aForgedStaleOrBorrowedFormTokenOrAnUnknownLinkChangesNothing() async throws {
        try await app().test(.router) { client in
            let good = try await formToken(client, for: adaToken)
            let bobs = try await formToken(client, for: bobToken)
            let erase = "/preferences/\(adaToken)/erase"
            let forged = "\(Int64(time.now().timeIntervalSince1970)).\(String(repeating: "0", count: 64))"
            for fields in [
                [("confirm", "yes")], [("form_token", forged), ("confirm", "yes")],
                [("form_token", bobs), ("confirm", "yes")], [("form_token", "garbage"), ("confirm", "yes")],
            ] {
                let (status, body) = try await post(client, erase, fields)
                #expect(status == .forbidden, "\(fields)")
                #expect(body.contains("form_token"))
            }
            let unknown = String(repeating: "B", count: 43)
            let (notFound, _) = try await post(
                client, "/preferences/\(unknown)/erase", [("form_token", good), ("confirm", "yes")])
            #expect(notFound == .notFound)
            time.advance(by: .seconds(2 * 3600))
            let (stale, body) = try await post(client, erase, [("form_token", good), ("confirm", "yes")])
            #expect(stale == .forbidden && body.contains("too old"))
        }
        #expect(try await adaExists)
        #expect(try await store.readerData(email: "ada@example.org")?.deliveries.count == 1)
    }
}
