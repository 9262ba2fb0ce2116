import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// Topics on the signup and preferences pages, through `app.test(.router)` on a real store.
struct TopicRoutesTests {
    let store: AppDatabase
    let token: String
    let week = try! IssueWeek(parsing: "2026-W47")

    init() async throws {
        store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        for (title, categories) in [
            ("A vs B", ["Developer Tools", "Data & Analytics"]), ("C vs D", ["Writing", "<b>Audio</b>"]),
        ] {
            var comparison = try StoreFixtures.comparison(title, published: "2026-11-17T10:00:00Z")
            for index in comparison.tools.indices { comparison.tools[index].category = categories[index] }
            _ = try await store.saveComparison(comparison)
        }
        try await store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h"))
        _ = try await store.addSubscriber(email: "tess@example.org", name: "Tess", status: .confirmed)
        _ = try await store.prepareDelivery(week, addSubscribers: true)
        token = try await #require(try store.claimDeliveries(week, limit: 1, runStarted: Date()).first).unsubscribeToken
    }

    func app(aliases: TopicAliases = TopicAliases()) throws -> some ApplicationProtocol {
        try TestServer.app(store: store) { $0.issue.topics = aliases }
    }

    func post(_ client: some TestClientProtocol, _ uri: String, _ fields: [(String, String)]) async throws -> (
        HTTPResponse.Status, String
    ) {
        try await client.execute(
            uri: uri, method: .post, headers: SubscriberRoutesTests.form, body: SubscriberRoutesTests.formBody(fields)
        ) { ($0.status, String(buffer: $0.body)) }
    }

    @Test func theSignupPageOffersEveryTopicAsAnEscapedCheckbox() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let body = String(buffer: response.body)
                for topic in ["Developer Tools", "Data &amp; Analytics", "Writing", "&lt;b&gt;Audio&lt;/b&gt;"] {
                    #expect(body.contains("name=\"topics\" value=\"\(topic)\""), "\(topic)")
                }
                #expect(!body.contains("<b>Audio"))
                #expect(!body.contains(" checked"))
                #expect(body.contains("tick none to get everything"))
            }
        }
    }

    @Test func aSignupKeepsTheTickedTopicsWithAConsentRecord() async throws {
        try await app().test(.router) { client in
            let (status, _) = try await post(
                client, "/subscribe",
                [
                    ("email", "ada@example.org"), ("topics-offered", "1"), ("topics", "Writing"),
                    ("topics", "developer tools"),
                ])
            #expect(status == .ok)
        }
        let ada = try await #require(try store.subscriber(email: "ada@example.org"))
        await #expect(try store.topicChoice(subscriberID: ada.id) == TopicChoice(["Developer Tools", "Writing"]))
        let consent = try await store.consentRecords(subscriberID: ada.id)
        #expect(consent.map(\.event) == ["signup", "topics"])
        #expect(consent.last?.detail == "topics=Developer Tools, Writing")
    }

    @Test func anUnknownTopicIsRefusedWithItsNameAndNothingIsStored() async throws {
        try await app().test(.router) { client in
            let (status, body) = try await post(
                client, "/subscribe", [("email", "eve@example.org"), ("topics", "Crypto <script>")])
            #expect(status == .unprocessableContent)
            #expect(body.contains("&quot;Crypto &lt;script&gt;&quot; is not a topic"))
            #expect(!body.contains("<script>"))
            let (preferences, message) = try await post(
                client, "/preferences/\(token)", [("topics-offered", "1"), ("topics", "Gardening")])
            #expect(preferences == .unprocessableContent)
            #expect(message.contains("&quot;Gardening&quot; is not a topic"))
        }
        await #expect(try store.subscriber(email: "eve@example.org") == nil)
        let tess = try await #require(try store.subscriber(email: "tess@example.org"))
        await #expect(try store.topicChoice(subscriberID: tess.id) == .everything)
    }

    @Test func thePreferencesPageChangesTheTopicsAndShowsTheChoiceKept() async throws {
        let tess = try await #require(try store.subscriber(email: "tess@example.org"))
        try await app().test(.router) { client in
            let (status, body) = try await post(
                client, "/preferences/\(token)",
                [("name", "Tess"), ("format", "html"), ("topics-offered", "1"), ("topics", "Data & Analytics")])
            #expect(status == .ok)
            #expect(body.contains("value=\"Data &amp; Analytics\" checked"))
            #expect(!body.contains("value=\"Writing\" checked"))
            try await client.execute(uri: "/preferences/\(token)", method: .get) { response in
                #expect(String(buffer: response.body).contains("value=\"Data &amp; Analytics\" checked"))
            }
            // A client that posts no topics (an older form) leaves them as they are.
            _ = try await post(client, "/preferences/\(token)", [("name", "Tess T"), ("format", "text")])
            await #expect(try store.topicChoice(subscriberID: tess.id) == TopicChoice(["Data & Analytics"]))
            // The form with nothing ticked is everything again.
            _ = try await post(client, "/preferences/\(token)", [("format", "html"), ("topics-offered", "1")])
        }
        await #expect(try store.topicChoice(subscriberID: tess.id) == .everything)
        await #expect(try store.consentRecords(subscriberID: tess.id).filter { $0.event == "topics" }.count == 2)
    }

    @Test func aliasesRenameAndMergeWhatTheFormsOffer() async throws {
        let aliases = TopicAliases(["Developer Tools": "Engineering", "Writing": "Engineering"])
        try await app(aliases: aliases).test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("value=\"Engineering\""))
                #expect(!body.contains("value=\"Writing\"") && !body.contains("value=\"Developer Tools\""))
            }
            // A page category is still understood, as the topic it now belongs to.
            let (status, _) = try await post(
                client, "/subscribe", [("email", "bo@example.org"), ("topics", "Writing")])
            #expect(status == .ok)
        }
        let bo = try await #require(try store.subscriber(email: "bo@example.org"))
        await #expect(try store.topicChoice(subscriberID: bo.id) == TopicChoice(["Engineering"]))
        await #expect(
            try store.topicCounts(aliases: aliases).first { $0.topic == "Engineering" }
                == TopicCount(topic: "Engineering", comparisons: 2, categories: ["Developer Tools", "Writing"]))
    }

    @Test func aJSONClientSendsTheTopicsAsAListAndAnEmptyListForEverything() async throws {
        let tess = try await #require(try store.subscriber(email: "tess@example.org"))
        try await app().test(.router) { client in
            for (body, expected) in [
                (#"{"format": "html", "topics": ["Writing"]}"#, TopicChoice(["Writing"])),
                (#"{"format": "html"}"#, TopicChoice(["Writing"])),
                (#"{"format": "html", "topics": []}"#, TopicChoice.everything),
            ] {
                try await client.execute(
                    uri: "/preferences/\(token)", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: body)
                ) { #expect($0.status == .ok, "\(body)") }
                await #expect(try store.topicChoice(subscriberID: tess.id) == expected, "\(body)")
            }
        }
    }
}
