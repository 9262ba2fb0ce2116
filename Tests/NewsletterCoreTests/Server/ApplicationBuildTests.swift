import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// `buildApplication`, the assembly `serve` runs: its middleware, its route groups, and the
/// template check before it listens.
struct ApplicationBuildTests {
    let directory: URL
    let store: AppDatabase

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("n.sqlite").path)
    }

    @Test func everyRequestIsCountedByItsRouteNeverItsPath() async throws {
        let token = "editor-token-1"
        try await TestServer.app(store: store) { $0.editor.token = token }.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/unsubscribe/secret-token-42", method: .get) { _ in }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"]) {
                let body = String(buffer: $0.body)
                #expect(body.contains(#"newsletter_http_requests_total{route="/",status="200"} 1"#), "\(body)")
                #expect(body.contains("route=\"/unsubscribe/"), "\(body)")
                #expect(!body.contains("secret-token-42"))
            }
        }
    }

    @Test func theEditorPagesAndTheBounceWebhookExistOnlyWithTheirTokens() async throws {
        try await TestServer.app(store: store).test(.router) { client in
            try await client.execute(uri: "/editor/issues", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/webhooks/bounces", method: .post, body: ByteBuffer(string: "{}")) {
                #expect($0.status == .notFound)
            }
            try await client.execute(uri: "/archive", method: .get) { #expect($0.status == .ok) }
        }
        try await TestServer.app(store: store) {
            $0.editor.token = "e"
            $0.bounces.webhookToken = "w"
        }.test(.router) { client in
            try await client.execute(uri: "/editor/issues", method: .get, headers: [.authorization: "Bearer e"]) {
                #expect($0.status == .ok)
            }
            try await client.execute(
                uri: "/webhooks/bounces", method: .post, headers: [.authorization: "Bearer w"],
                body: ByteBuffer(string: #"{"events": []}"#)
            ) { #expect($0.status == .ok) }
        }
    }

    @Test func theEndpointMailQueueRunsAsAServiceOfTheApplication() throws {
        let components = Components(
            configuration: {
                var configuration = Configuration()
                configuration.templatesDirectory = TestPaths.repository.appendingPathComponent("templates").path
                return configuration
            }(), logger: .init(label: "test"))
        let app = try buildApplication(components: components, store: store)
        #expect(app.services.contains { $0 is EndpointMailQueue<AppDatabase> })
        // The click counter too, so that SIGTERM flushes it.
        #expect(app.services.contains { $0 is ClickCounter })
        // And the webhook outbox.
        #expect(app.services.contains { $0 is WebhookDispatcher })
        var quiet = ServerDependencies()
        quiet.sendsEndpointMail = false
        quiet.sendsWebhooks = false
        quiet.flushesClicks = false
        #expect(try buildApplication(components: components, store: store, dependencies: quiet).services.isEmpty)
    }

    @Test(arguments: ["pages/editor-issue.html", "pages/editor-report.html", "pages/editor-chart.html"])
    func aMissingServerTemplateStopsTheAssemblyAsABadConfiguration(_ page: String) throws {
        let templates = directory.appendingPathComponent("templates")
        try FileManager.default.copyItem(at: TestPaths.repository.appendingPathComponent("templates"), to: templates)
        try FileManager.default.removeItem(at: templates.appendingPathComponent("\(page).mustache"))
        do {
            _ = try TestServer.app(store: store) { $0.templatesDirectory = templates.path }
            Issue.record("the server was built without \(page)")
        } catch let error as any ExitStatusProviding {
            #expect(error.exitStatus == .configurationError)
            #expect("\(error)".contains(page), "\(error)")
        }
    }
}
