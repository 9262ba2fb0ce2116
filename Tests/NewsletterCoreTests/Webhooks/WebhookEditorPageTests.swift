import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The editor is told of a disabled endpoint: on the webhooks page, in a banner on every
/// editor page, and in `newsletter status`; what the store holds is escaped.
struct WebhookEditorPageTests {
    let store: AppDatabase
    static let token = "editor-token-webhooks"

    init() throws {
        store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
    }

    func app() throws -> some ApplicationProtocol {
        try TestServer.app(store: store) { $0.editor.token = Self.token }
    }

    func page(_ uri: String) async throws -> String {
        try await app().test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(Self.token)"]) {
                #expect($0.status == .ok)
                return String(buffer: $0.body)
            }
        }
    }

    @Test func aDisabledEndpointIsShownWithItsReasonOnEveryEditorPageAndInStatus() async throws {
        let time = Date()
        let endpoint = try await store.addWebhookEndpoint(
            url: "https://hooks.example/in?a=1&b=<x>", events: [.issueSent], secret: .make(), at: time)
        var page = try await self.page("/editor/webhooks")
        #expect(page.contains("https://hooks.example/in?a=1&amp;b=&lt;x&gt;"))
        #expect(!page.contains("<x>"))
        #expect(!page.contains("is disabled"))
        // A healthy endpoint is not said to be failing.
        #expect(!page.contains("failing since"))
        // An attempt answered 410 Gone: the endpoint is disabled at once, and the attempt logged.
        let disabled = try await store.recordWebhookAttempts(
            [
                WebhookAttemptOutcome(
                    deliveryID: 0,
                    attempt: WebhookAttempt(
                        endpointID: endpoint.id, messageID: "msg_1", eventType: "issue.sent", attempt: 1, at: time,
                        status: 410, durationMilliseconds: 12, error: "answered 410"))
            ], policy: WebhookRetryPolicy())
        #expect(disabled.map(\.reason) == ["it answered 410 Gone"])
        page = try await self.page("/editor/webhooks")
        #expect(page.contains("disabled"))
        #expect(page.contains("it answered 410 Gone"))
        #expect(page.contains("msg_1") && page.contains("answered 410"))
        let issues = try await self.page("/editor/issues")
        #expect(issues.contains("Webhook endpoint \(endpoint.id) (https://hooks.example/in?a=1&amp;b=&lt;x&gt;) is disabled"))
        let status = try await WeekStatusReport.make(
            try IssueWeek(parsing: "2026-W47"), store: store, settings: Configuration(), now: time)
        #expect(status.text.contains("webhook: endpoint \(endpoint.id) (https://hooks.example/in?a=1&b=<x>) disabled: it answered 410 Gone"))
    }
}
