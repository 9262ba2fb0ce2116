import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The editor's routes and `/metrics`: the token, the side-by-side preview, approval of the
/// draft that was reviewed, and test sends.
struct EditorRoutesTests {
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")
    let hash = "ab12cd34ef56" + String(repeating: "0", count: 52)
    let outbox: URL
    static let token = "editor-token-Ω-123"

    init() async throws {
        let directory = try TestPaths.temporaryDirectory()
        outbox = directory.appendingPathComponent("outbox")
        store = try AppDatabase.open(path: directory.appendingPathComponent("n.sqlite").path)
        let manifest = """
            {"comparisons": [{"title": "Inkwell vs <Tallyhoist>", "summary": {"text": "t", "provider": "extractive"}},
                             {"title": "B vs C", "summary": {"text": "B <ships>", "provider": "local", "kind": "abstractive", "model": "qwen2.5"}},
                             {"title": "D vs E", "summary": {"text": "t", "provider": "local-grammar", "kind": "grammar-extractive", "model": "qwen2.5", "note": "local: the guard refused every reply about <D>"}}]}
            """
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "Week 47: \"ship\" & skip",
                html: "<html><body><p>%%GREETING%%</p><p class=\"x\">Tom &amp; Jerry</p></body></html>",
                text: "%%GREETING%%\nPlain & simple", manifest: manifest, comparisonIDs: [], hash: hash))
    }

    func app(token: String? = Self.token) throws -> some ApplicationProtocol {
        try TestServer.app(store: store, outbox: outbox) {
            $0.editor.token = token
            $0.mail.from = "digest@example.org"
            $0.mail.listID = "digest.example.org"
            $0.issue.publicURL = "https://x.example"
            $0.mail.retries = 0
        }
    }

    static let bearer: HTTPFields = [.authorization: "Bearer \(token)"]

    /// A form post as the editor page sends it, with the page's form token.
    static func form(_ body: String, headers: HTTPFields = bearer) -> (HTTPFields, ByteBuffer) {
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        let token = EditorFormToken(editorToken: Self.token).make(for: try! IssueWeek(parsing: "2026-W47"), at: Date())
        return (headers, ByteBuffer(string: "\(EditorFormToken.field)=\(token)&" + body))
    }

    @Test(arguments: [nil, ""])
    func withoutATokenConfiguredTheEditorRoutesAndMetricsDoNotExist(token: String?) async throws {
        try await app(token: token).test(.router) { client in
            for authorization in ["Bearer \(Self.token)", "Basic Og==", "Bearer "] {
                for uri in ["/editor/issues", "/metrics"] {
                    try await client.execute(uri: uri, method: .get, headers: [.authorization: authorization]) {
                        #expect($0.status == .notFound, "\(uri) with \(authorization)")
                    }
                }
            }
        }
    }

    @Test func anEmptyPresentedTokenNeverMatches() {
        #expect(!EditorRoutes<AppDatabase>.presentsToken("Basic Og==", token: ""))
        #expect(!EditorRoutes<AppDatabase>.presentsToken("Bearer ", token: ""))
        #expect(!EditorRoutes<AppDatabase>.presentsToken("Basic Og==", token: Self.token))
    }

    @Test func theEditorPageCannotBeFramedByAnotherSite() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/editor/issues/2026-W47", method: .get, headers: Self.bearer) { response in
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "SAMEORIGIN")
                #expect(
                    response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'self'")
                        == true)
            }
        }
    }

    @Test func theTokenIsRequiredAsBearerOrBasicPassword() async throws {
        let basic = "Basic " + Data("editor:\(Self.token)".utf8).base64EncodedString()
        let wrongBasic = "Basic " + Data("editor:nope".utf8).base64EncodedString()
        try await app().test(.router) { client in
            for (header, expected) in [
                (nil, HTTPResponse.Status.unauthorized), ("Bearer wrong", .unauthorized),
                ("Bearer \(Self.token)x", .unauthorized), (wrongBasic, .unauthorized), ("Basic !!!", .unauthorized),
                ("Bearer \(Self.token)", .ok), (basic, .ok),
            ] {
                var headers = HTTPFields()
                if let header { headers[.authorization] = header }
                for uri in ["/editor/issues", "/editor/issues/\(week)", "/metrics"] {
                    try await client.execute(uri: uri, method: .get, headers: headers) { response in
                        #expect(response.status == expected, "\(uri) with \(header ?? "no header")")
                        if expected == .unauthorized {
                            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic realm=") == true)
                        }
                    }
                }
            }
        }
    }

    @Test func theIssueListAndThePreviewShowTheDraftEscapedInSandboxedFrames() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/editor/issues", method: .get, headers: Self.bearer) {
                let body = String(buffer: $0.body)
                #expect(body.contains("<a href=\"/editor/issues/2026-W47\">2026-W47</a>"))
                #expect(body.contains("ab12cd34ef56"))
            }
            try await client.execute(uri: "/editor/issues/2026-W47", method: .get, headers: Self.bearer) { response in
                let body = String(buffer: response.body)
                // The HTML sits escaped inside srcdoc, twice (600 and 375 px), in sandboxed frames.
                #expect(body.components(separatedBy: "sandbox=\"\"").count == 3)
                #expect(body.contains("srcdoc=\"&lt;html&gt;&lt;body&gt;&lt;p&gt;Hi Sample Reader,"))
                #expect(body.contains("Tom &amp;amp; Jerry"))
                #expect(body.contains("width=\"375\"") && body.contains("width=\"640\""))
                #expect(body.contains("<pre>Hi Sample Reader,\nPlain &amp; simple</pre>"))
                // Where each summary came from; page text escaped.
                #expect(body.contains("Inkwell vs &lt;Tallyhoist&gt;: <strong>extractive</strong>"))
                #expect(body.contains("fallback, no model"))
                #expect(body.contains("<strong>local</strong> (qwen2.5)"))
                // Each summary's kind, its heading, the guard's verdict and why a fallback shipped.
                #expect(
                    body.contains(
                        "abstractive</span> · shown as “Summary written by a model, checked against the takes” · guard: accepted by the guard"
                    ))
                #expect(body.contains("<blockquote>B &lt;ships&gt;</blockquote>"))
                #expect(
                    body.contains(
                        "grammar-extractive</span> · shown as “Quoted from the panel, sentences picked by a model”"))
                #expect(body.contains("<small>local: the guard refused every reply about &lt;D&gt;</small>"))
                #expect(body.contains("name=\"hash\" value=\"\(hash)\""))
                #expect(
                    response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'none'") == true
                )
            }
            try await client.execute(uri: "/editor/issues/2026-W99", method: .get, headers: Self.bearer) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/editor/issues/2026-W46", method: .get, headers: Self.bearer) {
                #expect($0.status == .notFound)
                #expect(String(buffer: $0.body).contains("newsletter preview --week 2026-W46"))
            }
        }
    }

    @Test func approvalNeedsTheHashOfTheReviewedDraftAndASameSiteRequest() async throws {
        try await app().test(.router) { client in
            let uri = "/editor/issues/2026-W47/approve"
            var (headers, body) = Self.form("")
            try await client.execute(uri: uri, method: .post, headers: headers, body: body) {
                #expect($0.status == .unprocessableContent)
            }
            (headers, body) = Self.form("hash=ffff0000")
            try await client.execute(uri: uri, method: .post, headers: headers, body: body) {
                #expect($0.status == .conflict)
                #expect(String(buffer: $0.body).contains("reload and review it again"))
            }
            var crossSite = Self.bearer
            crossSite[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            (headers, body) = Self.form("hash=ab12cd34", headers: crossSite)
            try await client.execute(uri: uri, method: .post, headers: headers, body: body) {
                #expect($0.status == .forbidden)
            }
            var foreign = Self.bearer
            foreign[HTTPField.Name("Origin")!] = "https://evil.example"
            (headers, body) = Self.form("hash=ab12cd34", headers: foreign)
            try await client.execute(uri: uri, method: .post, headers: headers, body: body) {
                #expect($0.status == .forbidden)
            }
            (headers, body) = Self.form("hash=ab12cd34", headers: [:])
            try await client.execute(uri: uri, method: .post, headers: headers, body: body) {
                #expect($0.status == .unauthorized)
            }
            await #expect(try store.issue(week)?.status == .draft)
            (headers, body) = Self.form("hash=ab12cd34")
            try await client.execute(uri: uri, method: .post, headers: headers, body: body) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).contains("approved"))
            }
        }
        let issue = try await #require(try store.issue(week))
        #expect(issue.status == .approved && issue.approvedHash == hash)
    }

    @Test func aTestSendGoesToTheNamedAddressOnlyAndLeavesTheLedgerAlone() async throws {
        try await app().test(.router) { client in
            var (headers, body) = Self.form("to=editor%40example.org")
            try await client.execute(
                uri: "/editor/issues/2026-W47/test-send", method: .post, headers: headers, body: body
            ) {
                #expect($0.status == .ok)
                #expect(String(buffer: $0.body).contains("Sent 2026-W47 to editor@example.org"))
            }
            (headers, body) = Self.form("to=editor%40example.org%0D%0ABcc%3A%20x%40example.org")
            try await client.execute(
                uri: "/editor/issues/2026-W47/test-send", method: .post, headers: headers, body: body
            ) {
                #expect($0.status == .badRequest)
            }
        }
        // The editor's test copies go where the server's other mail goes.
        let endpointMail = outbox.appendingPathComponent("endpoint-mail")
        let files = try FileManager.default.contentsOfDirectory(atPath: endpointMail.path)
        #expect(files == ["test-send.eml"])
        let message = try String(
            contentsOfFile: endpointMail.appendingPathComponent("test-send.eml").path, encoding: .utf8)
        #expect(message.contains("To: editor@example.org"))
        #expect(message.contains("Subject: [test] Week 47"))
        await #expect(try store.deliveryCounts(week).isEmpty)
    }

    @Test func metricsAreInPrometheusTextFormat() async throws {
        _ = try await store.addSubscriber(email: "a@example.org", name: nil, status: .confirmed)
        _ = try await store.requestSignup(
            try MailAddress("b@example.org"), name: nil, client: .commandLine, policy: .init(), at: Date())
        try await app().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get, headers: Self.bearer) { response in
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let lines = String(buffer: response.body).split(separator: "\n")
                // Gauges are floats in swift-prometheus's text.
                #expect(lines.contains("newsletter_endpoint_mail_queue_depth 1.0"))
                #expect(lines.contains("newsletter_subscribers{status=\"confirmed\"} 1.0"))
                #expect(lines.contains("newsletter_subscribers{status=\"pending\"} 1.0"))
                #expect(lines.contains("# TYPE newsletter_signups_total counter"))
                // Every sample line is `name{labels} value` or `name value`.
                for line in lines where !line.hasPrefix("#") {
                    #expect(line.wholeMatch(of: /[a-z_]+(\{[a-z]+="[^"]*"(,[a-z]+="[^"]*")*\})? \d+(\.\d+)?/) != nil, "\(line)")
                }
            }
        }
    }
}
