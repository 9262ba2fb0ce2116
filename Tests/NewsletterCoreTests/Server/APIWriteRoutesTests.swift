import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// `/api/v1`'s changes through the server's own assembly, on both stores: each goes through the
/// workflow the signup form, the preferences page or `subscribers import` use, and hostile input
/// is a 4xx naming the problem with nothing stored changed.
@Suite("API writes", .runningStores)
struct APIWriteRoutesTests {
    typealias API = APIRoutesTests

    @Test(arguments: StoreBackend.all)
    func aCreatedSubscriberIsPendingWithAConfirmationMailQueued(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await API.withAPI(store) { client, keys in
            let reply = try await API.call(
                client, .post, "/api/v1/subscribers", key: keys[.write],
                body: #"{"email": "ada@example.org", "name": "Ada", "topics": []}"#)
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply.json["status"] as? String == "pending")
            let again = try await API.call(
                client, .post, "/api/v1/subscribers", key: keys[.write], body: #"{"email": "ADA@example.org"}"#)
            #expect(again.status == .ok, "known already: nothing new")
        }
        let queued = try await store.claimEndpointMail(limit: 10, at: Date().addingTimeInterval(60), lease: 60)
        #expect(queued.map(\.kind) == [.confirmation])
        #expect(queued.first?.subscriber.status == .pending)
        let audit = try await store.auditEntries(subject: "ada@example.org", limit: 10)
        #expect(audit.map(\.actor) == ["api-key:test-write"])
    }

    @Test(arguments: StoreBackend.all)
    func onlyAnAdminKeyMayAddAConfirmedSubscriberWithTheConsentItNames(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let body = #"""
            {"email": "bo@example.org", "consent": {"source": "signup desk, PyCon", "time": "2026-11-20T10:00:00Z", "proof": "paper form 118"}}
            """#
        try await API.withAPI(store) { client, keys in
            API.expectProblem(
                try await API.call(client, .post, "/api/v1/subscribers", key: keys[.write], body: body), .forbidden,
                field: "consent")
            #expect(try await store.subscriber(email: "bo@example.org") == nil, "nothing stored")
            let reply = try await API.call(client, .post, "/api/v1/subscribers", key: keys[.admin], body: body)
            #expect(reply.status == .created, "\(reply.text)")
            #expect(reply.json["status"] as? String == "confirmed")
        }
        #expect(try await store.claimEndpointMail(limit: 10, at: Date().addingTimeInterval(60), lease: 60).isEmpty)
        if let sqlite = store as? AppDatabase {
            let id = try #require(try await sqlite.subscriber(email: "bo@example.org")).id
            let consent = try await sqlite.consentRecords(subscriberID: id)
            #expect(consent.map(\.event) == ["import"])
            let detail = try #require(consent.first?.detail)
            #expect(detail.contains("signup desk, PyCon") && detail.contains("paper form 118"))
            #expect(detail.contains("2026-11-20T10:00:00Z"))
        }
    }

    @Test(arguments: StoreBackend.all)
    func hostileBodiesAre4xxsNamingTheProblemWithNothingStored(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let deep = String(repeating: "[", count: 1_000) + String(repeating: "]", count: 1_000)
        try await API.withAPI(store, configure: { $0.server.apiMaxBodyBytes = 4096 }) { client, keys in
            let key = keys[.write]
            func post(_ body: String, contentType: String = "application/json") async throws -> API.Reply {
                try await API.call(client, .post, "/api/v1/subscribers", key: key, body: body, contentType: contentType)
            }
            API.expectProblem(
                try await post(#"{"email": "x@example.org", "name": "\#(String(repeating: "n", count: 101))"}"#),
                .badRequest, field: "name", mentioning: "longer than 100")
            API.expectProblem(
                try await post(#"{"email": "\#(String(repeating: "e", count: 300))@example.org"}"#), .badRequest,
                field: "email")
            API.expectProblem(try await post(#"{"email": "not an address"}"#), .badRequest, field: "email")
            API.expectProblem(try await post(#"{"email": 7}"#), .badRequest, field: "email")
            API.expectProblem(try await post(#"{"name": "no address"}"#), .badRequest, field: "email")
            API.expectProblem(try await post(#"{"email": "x@example.org", "email2": "#), .badRequest)
            API.expectProblem(try await post(#"{"email": "x@example.org", "topics": \#(deep)}"#), .badRequest)
            API.expectProblem(try await post(deep), .badRequest)
            API.expectProblem(
                try await post(#"{"email": "x@example.org", "name": "\#(String(repeating: "n", count: 5000))"}"#),
                .contentTooLarge)
            API.expectProblem(try await post("email=x@example.org", contentType: "application/x-www-form-urlencoded"),
                .unsupportedMediaType)
            API.expectProblem(
                try await API.call(
                    client, .post, "/api/v1/subscribers", key: keys[.read], body: #"{"email": "x@example.org"}"#),
                .forbidden)
            API.expectProblem(
                try await post(#"{"email": "x@example.org", "topics": ["No Such Topic"]}"#), .badRequest,
                field: "topics")
        }
        #expect(try await store.subscriberCount(status: nil) == 0)
        #expect(try await store.claimEndpointMail(limit: 10, at: Date().addingTimeInterval(60), lease: 60).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func aSubscriberIsUnsubscribedAndForgottenByID(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let subscriber = try await store.addSubscriber(email: "cy@example.org", name: nil, status: .confirmed)
        try await API.withAPI(store) { client, keys in
            let uri = "/api/v1/subscribers/\(subscriber.id)"
            let changed = try await API.call(client, .patch, uri, key: keys[.write], body: #"{"status": "unsubscribed"}"#)
            #expect(changed.status == .ok, "\(changed.text)")
            #expect(changed.json["status"] as? String == "unsubscribed")
            API.expectProblem(
                try await API.call(client, .patch, uri, key: keys[.write], body: #"{"status": "confirmed"}"#),
                .badRequest, field: "status")
            #expect(try await API.call(client, .delete, uri, key: keys[.write]).status == .noContent)
            API.expectProblem(try await API.call(client, .delete, uri, key: keys[.write]), .notFound)
            API.expectProblem(try await API.call(client, .get, uri, key: keys[.read]), .notFound)
        }
        #expect(try await store.subscriber(email: "cy@example.org") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func anImportFollowsTheCSVImportsRulesAndNeedsAnAdminKey(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        _ = try await store.addSubscriber(email: "gone@example.org", name: nil, status: .unsubscribed)
        let body = #"""
            {"source": "CRM export 2026-11", "subscribers": [{"email": "d@example.org", "name": "D"}, {"email": "bad"}, {"email": "gone@example.org"}]}
            """#
        try await API.withAPI(store) { client, keys in
            API.expectProblem(
                try await API.call(client, .post, "/api/v1/subscribers/import", key: keys[.write], body: body),
                .forbidden)
            let reply = try await API.call(client, .post, "/api/v1/subscribers/import", key: keys[.admin], body: body)
            #expect(reply.status == .ok, "\(reply.text)")
            #expect(reply.json["added"] as? Int == 1 && reply.json["known"] as? Int == 1)
            let refused = try #require(reply.json["refused"] as? [[String: Any]])
            #expect(refused.map { $0["row"] as? Int } == [2])
            let csv = try await API.call(
                client, .post, "/api/v1/subscribers/import?source=fair%20list", key: keys[.admin],
                body: "email,name\ne@example.org,E\n", contentType: "text/csv")
            #expect(csv.status == .ok && csv.json["added"] as? Int == 1, "\(csv.text)")
            API.expectProblem(
                try await API.call(
                    client, .post, "/api/v1/subscribers/import", key: keys[.admin], body: "email\nf@example.org\n",
                    contentType: "text/csv"), .badRequest, field: "source")
        }
        #expect(try await store.subscriber(email: "d@example.org")?.status == .confirmed)
        #expect(try await store.subscriber(email: "gone@example.org")?.status == .unsubscribed, "an import never undoes an unsubscribe")
        #expect(try await store.subscriber(email: "f@example.org") == nil)
    }

    @Test(arguments: StoreBackend.all)
    func anIssueIsApprovedOnlyWithItsDraftsHash(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        let week = try IssueWeek(parsing: "2026-W47")
        let hash = String(repeating: "ab", count: 32)
        try await store.saveDraft(
            IssueDraft(week: week, subject: "Tools", html: "<p>h</p>", text: "t", manifest: "{}", comparisonIDs: [], hash: hash))
        try await API.withAPI(store) { client, keys in
            let listed = try await API.call(client, .get, "/api/v1/issues", key: keys[.read])
            #expect((listed.json["items"] as? [[String: Any]])?.map { $0["week"] as? String } == ["2026-W47"])
            let draft = try await API.call(client, .get, "/api/v1/issues/2026-W47/draft", key: keys[.read])
            #expect(draft.json["hash"] as? String == hash && draft.json["html"] as? String == "<p>h</p>")
            API.expectProblem(
                try await API.call(client, .get, "/api/v1/issues/2026-W99", key: keys[.read]), .badRequest, field: "week")
            API.expectProblem(try await API.call(client, .get, "/api/v1/issues/2026-W40", key: keys[.read]), .notFound)
            API.expectProblem(
                try await API.call(client, .post, "/api/v1/issues/2026-W47/approve", key: keys[.write], body: #"{"hash": "cdcdcdcd"}"#),
                .conflict, field: "hash", mentioning: "ababababab")
            #expect(try await store.issue(week)?.status == .draft)
            let approved = try await API.call(
                client, .post, "/api/v1/issues/2026-W47/approve", key: keys[.write], body: #"{"hash": "ababab"}"#)
            #expect(approved.status == .ok, "\(approved.text)")
            #expect(approved.json["status"] as? String == "approved" && approved.json["approved"] as? Bool == true)
            let report = try await API.call(client, .get, "/api/v1/issues/2026-W47/report", key: keys[.read])
            #expect(report.status == .ok && report.json["week"] as? String == "2026-W47", "\(report.text)")
        }
        #expect(try await store.issue(week)?.approvedHash == hash)
    }
}
