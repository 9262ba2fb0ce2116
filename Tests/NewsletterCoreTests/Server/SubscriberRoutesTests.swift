import Foundation
import Hummingbird
import HummingbirdTesting
import NewsletterCore
import Testing

/// The one-click unsubscribe routes through `app.test(.router)`, on a real SQLite store.
struct SubscriberRoutesTests {
    let store: AppDatabase
    let token: String
    let week = try! IssueWeek(parsing: "2026-W47")

    init() throws {
        store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        try store.saveDraft(
            IssueDraft(week: week, subject: "s", html: "h", text: "t", manifest: "{}", comparisonIDs: [], hash: "h"))
        _ = try store.addSubscriber(email: "o'neil@example.org", name: "Tess <O'Neil>", status: .confirmed)
        _ = try store.prepareDelivery(week, addSubscribers: true)
        token = try #require(try store.claimDeliveries(week, limit: 1, runStarted: Date()).first).unsubscribeToken
    }

    func app() throws -> some ApplicationProtocol {
        let router = Router()
        SubscriberRoutes(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: IssueSettings()
        ).register(on: router)
        return Application(router: router)
    }

    var status: Subscriber.Status? { try? store.subscriber(email: "o'neil@example.org")?.status }

    @Test func healthz() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

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
        #expect(status == .confirmed)
    }

    @Test func oneClickPOSTUnsubscribesAtOnceIdempotentlyAndWithoutRedirect() async throws {
        try await app().test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(
                    uri: "/unsubscribe/\(token)", method: .post,
                    headers: [.contentType: "application/x-www-form-urlencoded"],
                    body: ByteBuffer(string: "List-Unsubscribe=One-Click")
                ) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.location] == nil)
                    #expect(String(buffer: response.body).contains("You are unsubscribed"))
                }
            }
        }
        #expect(status == .unsubscribed)
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
        #expect(status == .unsubscribed)
    }

    @Test func unknownAndMalformedTokensAre404AndChangeNothing() async throws {
        let unknown = String(token.reversed())
        try await app().test(.router) { client in
            for uri in ["/unsubscribe/\(unknown)", "/unsubscribe/short", "/unsubscribe/%27%20OR%201%3D1%20--"] {
                try await client.execute(uri: uri, method: .post) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(String(buffer: response.body).contains("Link not recognised"))
                }
            }
        }
        #expect(status == .confirmed)
    }

    @Test func anOversizedBodyIsRefused() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/unsubscribe/\(token)", method: .post, body: ByteBuffer(repeating: 65, count: 1 << 20)
            ) { response in
                #expect(response.status == .contentTooLarge)
            }
        }
        #expect(status == .confirmed)
    }
}
