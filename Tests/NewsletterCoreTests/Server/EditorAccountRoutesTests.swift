import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// Editor accounts through the server's own assembly: the login and its cookie, sessions that
/// expire or are forged, forms bound to the session, roles, the shared token's retirement,
/// failed-login limits, invitations and the audit log.
@Suite("Editor accounts", .runningStores)
struct EditorAccountRoutesTests {
    let week = try! IssueWeek(parsing: "2026-W47")
    let hash = "ab12cd34ef56" + String(repeating: "0", count: 52)
    static let password = "a long passphrase"
    static let token = "shared-editor-token"

    /// The assembly over `store`, the clock `time`, bcrypt at its lowest cost.
    func withServer<Store: ContractStore>(
        _ store: Store, time: ManualTime, token: String? = nil,
        _ requests: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        var dependencies = ServerDependencies()
        dependencies.time = time
        // The test runs the PostgreSQL store's pool itself (`.runningStores`).
        dependencies.runsStorePool = false
        try await TestServer.app(store: store, dependencies: dependencies) {
            $0.editor.token = token
            $0.editor.bcryptCost = 4
            $0.editor.sessionHours = 2
            $0.issue.publicURL = "https://news.example"
        }.test(.router, requests)
    }

    func seed(_ store: some ContractStore, _ users: [(String, EditorRole)]) async throws {
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "Week 47", html: "<p>%%GREETING%%</p>", text: "%%GREETING%%", manifest: "{}",
                comparisonIDs: [], hash: hash))
        let hashed = try await EditorPassword(cost: 4).hash(Self.password)
        for (email, role) in users {
            _ = try await store.addEditorUser(email: email, role: role, passwordHash: hashed, at: Date())
        }
    }

    static func form(_ body: String, cookie: String? = nil) -> (HTTPFields, ByteBuffer) {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let cookie { headers[.cookie] = "newsletter_editor=\(cookie)" }
        return (headers, ByteBuffer(string: body))
    }

    /// What a browser gets from the form at `uri` (the login's, or an invitation's): the
    /// pre-session cookie and the form's token.
    static func formCookieAndToken(_ client: any TestClientProtocol, _ uri: String = "/editor/login") async throws
        -> (cookie: String, token: String)
    {
        try await client.execute(uri: uri, method: .get) { response in
            let cookie = try #require(response.headers[.setCookie]?.firstMatch(of: /newsletter_login=([A-Za-z0-9_-]{43});/))
            let token = try #require(
                String(buffer: response.body).firstMatch(of: /name="form_token" value="([0-9]+\.[0-9a-f]{64})"/))
            return (String(cookie.1), String(token.1))
        }
    }

    /// A post of `body` from the form at `uri`, as the browser that loaded it sends it.
    static func formPost(_ client: any TestClientProtocol, _ body: String, from uri: String = "/editor/login")
        async throws -> (HTTPFields, ByteBuffer)
    {
        let (cookie, token) = try await formCookieAndToken(client, uri)
        return (
            [.contentType: "application/x-www-form-urlencoded", .cookie: "newsletter_login=\(cookie)"],
            ByteBuffer(string: body + "&form_token=\(token)")
        )
    }

    /// Logs in and returns the session cookie's value.
    static func logIn(_ client: any TestClientProtocol, _ email: String, password: String = password) async throws
        -> String
    {
        let (headers, body) = try await formPost(
            client, "email=\(email)&password=\(password.replacingOccurrences(of: " ", with: "+"))")
        return try await client.execute(uri: "/editor/login", method: .post, headers: headers, body: body) {
            #expect($0.status == .seeOther, "\(String(buffer: $0.body))")
            let cookie = try #require($0.headers[.setCookie])
            return String(try #require(cookie.firstMatch(of: /newsletter_editor=([A-Za-z0-9_-]+)/)).1)
        }
    }

    static func page(_ client: any TestClientProtocol, _ uri: String, cookie: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: uri, method: .get, headers: [.cookie: "newsletter_editor=\(cookie)"]) {
            ($0.status, String(buffer: $0.body))
        }
    }

    static func formToken(in html: String) throws -> String {
        // The approval form's (the first form on the page is the log-out's, of another scope).
        String(
            try #require(
                html.firstMatch(of: /\/approve">\s*<input type="hidden" name="form_token" value="([0-9]+\.[0-9a-f]{64})"/)
            ).1)
    }

    @Test(arguments: StoreBackend.all)
    func aLoginSetsAStrictSessionCookieThatOpensTheEditorPagesUntilLogout(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await seed(store, [("ada@example.org", .editor)])
        try await withServer(store, time: ManualTime()) { client in
            let (headers, body) = try await Self.formPost(client, "email=ada%40example.org&password=a+long+passphrase&next=/editor/audit")
            try await client.execute(uri: "/editor/login", method: .post, headers: headers, body: body) {
                #expect($0.status == .seeOther && $0.headers[.location] == "/editor/audit")
                let cookies = $0.headers[values: .setCookie]
                let cookie = try #require(cookies.first { $0.hasPrefix("newsletter_editor=") })
                for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/editor", "Max-Age=7200"] {
                    #expect(cookie.contains(attribute), "\(cookie)")
                }
                // The login form's pre-session has done its work.
                let preSession = try #require(cookies.first { $0.hasPrefix("newsletter_login=") })
                #expect(preSession.hasPrefix("newsletter_login=;") && preSession.contains("Max-Age=0"), "\(preSession)")
            }
            let cookie = try await Self.logIn(client, "ada%40example.org")
            let (status, html) = try await Self.page(client, "/editor/issues/\(week)", cookie: cookie)
            #expect(status == .ok && html.contains("ada@example.org (editor)"))
            let token = try Self.formToken(in: html)
            // Another site's next= is not followed.
            let (evil, evilBody) = try await Self.formPost(
                client, "email=ada%40example.org&password=a+long+passphrase&next=//evil.example/")
            try await client.execute(uri: "/editor/login", method: .post, headers: evil, body: evilBody) {
                #expect($0.headers[.location] == "/editor/issues")
            }
            let (headers2, logout) = Self.form("form_token=\(try Self.accountToken(html))", cookie: cookie)
            try await client.execute(uri: "/editor/logout", method: .post, headers: headers2, body: logout) {
                #expect($0.status == .seeOther && $0.headers[.setCookie]?.contains("Max-Age=0") == true)
            }
            try await client.execute(
                uri: "/editor/issues/\(week)", method: .get, headers: [.cookie: "newsletter_editor=\(cookie)"]
            ) { #expect($0.status == .seeOther && $0.headers[.location]?.hasPrefix("/editor/login") == true) }
            _ = token
        }
    }

    static func accountToken(_ html: String) throws -> String {
        String(
            try #require(
                html.firstMatch(of: /action="\/editor\/logout"><input type="hidden" name="form_token" value="([^"]+)"/)).1)
    }

    @Test(arguments: StoreBackend.all)
    func anExpiredOrForgedSessionIsSentToTheLoginAndCannotPost(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await seed(store, [("ada@example.org", .owner)])
        let time = ManualTime()
        try await withServer(store, time: time) { client in
            let cookie = try await Self.logIn(client, "ada%40example.org")
            let (status, html) = try await Self.page(client, "/editor/issues/\(week)", cookie: cookie)
            #expect(status == .ok)
            let token = try Self.formToken(in: html)
            time.advance(by: .seconds(2 * 3600))
            for presented in [cookie, "forged" + String(cookie.dropFirst(6)), ""] {
                try await client.execute(
                    uri: "/editor/issues", method: .get, headers: [.cookie: "newsletter_editor=\(presented)"]
                ) {
                    #expect($0.status == .seeOther, "\(presented)")
                    #expect($0.headers[.location] == "/editor/login?next=%2Feditor%2Fissues")
                }
                let (headers, body) = Self.form("form_token=\(token)&hash=\(hash)", cookie: presented)
                try await client.execute(uri: "/editor/issues/\(week)/approve", method: .post, headers: headers, body: body) {
                    #expect($0.status == .unauthorized)
                    #expect(String(buffer: $0.body).contains("log in again at /editor/login"))
                }
            }
        }
        #expect(try await store.issue(week)?.approvedHash == nil)
    }

    @Test func aFormTokenIsBoundToItsSessionAndAFormWithoutOneIsRefused() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path)
        try await seed(store, [("ada@example.org", .editor), ("bob@example.org", .editor)])
        try await withServer(store, time: ManualTime()) { client in
            let ada = try await Self.logIn(client, "ada%40example.org")
            let bob = try await Self.logIn(client, "bob%40example.org")
            let adasToken = try Self.formToken(in: try await Self.page(client, "/editor/issues/\(week)", cookie: ada).1)
            for (body, refusal) in [
                ("hash=\(hash)", "the form has no &quot;form_token&quot;"),
                ("form_token=\(adasToken)&hash=\(hash)", "was not made by this server for this page"),
            ] {
                let (headers, form) = Self.form(body, cookie: bob)
                try await client.execute(uri: "/editor/issues/\(week)/approve", method: .post, headers: headers, body: form) {
                    #expect($0.status == .forbidden)
                    #expect(String(buffer: $0.body).contains(refusal), "\(String(buffer: $0.body))")
                }
            }
        }
        #expect(try await store.issue(week)?.approvedHash == nil)
        #expect(try await store.auditEntries(subject: nil, limit: 10).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func aViewerSeesButIsRefusedApprovalAndAnEditorsApprovalIsAudited(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await seed(store, [("vi@example.org", .viewer), ("ed@example.org", .editor)])
        let time = ManualTime(Date(timeIntervalSince1970: 1_800_000_000))
        try await withServer(store, time: time) { client in
            let viewer = try await Self.logIn(client, "vi%40example.org")
            let (status, html) = try await Self.page(client, "/editor/issues/\(week)", cookie: viewer)
            #expect(status == .ok && html.contains("You are a viewer"))
            for action in ["approve", "rebuild", "test-send"] {
                let (headers, body) = Self.form(
                    "form_token=\(try Self.formToken(in: html))&hash=\(hash)&to=x%40example.org", cookie: viewer)
                try await client.execute(uri: "/editor/issues/\(week)/\(action)", method: .post, headers: headers, body: body) {
                    #expect($0.status == .forbidden, "\(action)")
                    #expect(String(buffer: $0.body).contains("this needs the editor role, and vi@example.org is a viewer"))
                }
            }
            #expect(try await Self.page(client, "/editor/users", cookie: viewer).0 == .forbidden)
            #expect(try await store.issue(week)?.approvedHash == nil)

            let editor = try await Self.logIn(client, "ed%40example.org")
            let page = try await Self.page(client, "/editor/issues/\(week)", cookie: editor).1
            let (headers, body) = Self.form("form_token=\(try Self.formToken(in: page))&hash=\(hash)", cookie: editor)
            try await client.execute(uri: "/editor/issues/\(week)/approve", method: .post, headers: headers, body: body) {
                #expect($0.status == .ok)
            }
            #expect(try await Self.page(client, "/editor/users", cookie: editor).0 == .forbidden)
            let after = try await Self.page(client, "/editor/issues/\(week)", cookie: viewer).1
            #expect(after.contains("<td>2027-01-15 08:00 UTC</td><td>ed@example.org</td><td>issue.approve</td><td>draft ab12cd34ef56</td>"))
            let audit = try await Self.page(client, "/editor/audit", cookie: viewer).1
            #expect(audit.contains("<td>ed@example.org</td>"))
            // The whole log: no week named after the title.
            #expect(audit.contains("<h1>Audit log</h1>"))
        }
        #expect(try await store.issue(week)?.approvedHash == hash)
        let entries = try await store.auditEntries(subject: week.description, limit: 10)
        #expect(entries.map(\.actor) == ["ed@example.org"] && entries.map(\.action) == [.approve])
    }

    @Test func theSharedTokenWorksUntilAnOwnerExistsThenIsRefusedSayingSo() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path)
        try await seed(store, [("ed@example.org", .editor)])
        try await withServer(store, time: ManualTime(), token: Self.token) { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)"]
            try await client.execute(uri: "/editor/issues", method: .get, headers: bearer) { #expect($0.status == .ok) }
            _ = try await store.addEditorUser(email: "owner@example.org", role: .owner, passwordHash: nil, at: Date())
            try await client.execute(uri: "/editor/issues", method: .get, headers: bearer) {
                #expect($0.status == .unauthorized)
                #expect(String(buffer: $0.body).contains("the shared editor token is refused now that an owner exists"))
            }
            // Scrapers cannot log in: the metrics keep the token.
            try await client.execute(uri: "/metrics", method: .get, headers: bearer) { #expect($0.status == .ok) }
        }
    }

    @Test func failedLoginsAreLimitedPerAccountAndPerClientOnTheClock() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path)
        try await seed(store, [("ada@example.org", .editor)])
        let time = ManualTime()
        try await withServer(store, time: time) { client in
            @Sendable func attempt(_ email: String, _ password: String) async throws -> HTTPResponse.Status {
                let (headers, body) = try await Self.formPost(client, "email=\(email)&password=\(password)")
                return try await client.execute(uri: "/editor/login", method: .post, headers: headers, body: body) {
                    $0.status
                }
            }
            var statuses: [HTTPResponse.Status] = []
            for _ in 1...5 { statuses.append(try await attempt("ada%40example.org", "wrong-password")) }
            #expect(statuses == Array(repeating: .unauthorized, count: 5))
            // The sixth, even with the right password, waits.
            let sixth = try await attempt("ada%40example.org", "a+long+passphrase")
            #expect(sixth == .tooManyRequests)
            time.advance(by: .seconds(60))
            let later = try await attempt("ada%40example.org", "a+long+passphrase")
            #expect(later == .seeOther)
            // Per client: twenty failures at most, whatever the addresses tried.
            statuses = []
            for n in 1...20 { statuses.append(try await attempt("nobody\(n)%40example.org", "x")) }
            #expect(statuses == Array(repeating: .unauthorized, count: 20))
            let other = try await attempt("other%40example.org", "x")
            #expect(other == .tooManyRequests)
        }
    }

    @Test func aOneMegabytePasswordIsA4xxAndIsNotHashed() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path)
        try await seed(store, [("ada@example.org", .editor)])
        try await withServer(store, time: ManualTime()) { client in
            let (headers, body) = Self.form("email=ada%40example.org&password=" + String(repeating: "a", count: 1 << 20))
            try await client.execute(uri: "/editor/login", method: .post, headers: headers, body: body) {
                #expect($0.status == .contentTooLarge)
            }
            let (h2, long) = try await Self.formPost(client, "email=ada%40example.org&password=" + String(repeating: "a", count: 100))
            try await client.execute(uri: "/editor/login", method: .post, headers: h2, body: long) {
                #expect($0.status == .unprocessableContent)
                #expect(String(buffer: $0.body).contains("the password is 100 bytes; at most 72 are allowed"))
            }
        }
    }

    @Test(arguments: StoreBackend.all)
    func anOwnerInvitesAUserWhoseLinkSetsAPasswordOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.makeStore()
        try await seed(store, [("owner@example.org", .owner)])
        try await withServer(store, time: ManualTime()) { client in
            let owner = try await Self.logIn(client, "owner%40example.org")
            let users = try await Self.page(client, "/editor/users", cookie: owner).1
            let token = String(try #require(users.firstMatch(of: /name="form_token" value="([^"]+)"/)).1)
            let (headers, body) = Self.form("form_token=\(token)&email=new%40example.org&role=viewer", cookie: owner)
            let link = try await client.execute(uri: "/editor/users", method: .post, headers: headers, body: body) {
                #expect($0.status == .ok)
                return String(try #require(String(buffer: $0.body).firstMatch(of: /https:\/\/news\.example(\/editor\/invite\/[A-Za-z0-9_-]{43})/)).1)
            }
            #expect(try await Self.page(client, link, cookie: "").0 == .ok)
            let (h2, password) = try await Self.formPost(client, "password=a+long+passphrase", from: link)
            try await client.execute(uri: link, method: .post, headers: h2, body: password) { #expect($0.status == .ok) }
            try await client.execute(uri: link, method: .post, headers: h2, body: password) { #expect($0.status == .gone) }
            _ = try await Self.logIn(client, "new%40example.org")
        }
        #expect(try await store.editorUsers().map(\.role) == [.viewer, .owner])
        #expect(try await store.auditEntries(subject: "new@example.org", limit: 5).map(\.actor) == ["owner@example.org"])
    }

    @Test func theUsersPageRefusesToRemoveOrDemoteTheOnlyOwnerSayingWhatToDo() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path)
        try await seed(store, [("owner@example.org", .owner)])
        try await withServer(store, time: ManualTime(), token: Self.token) { client in
            let owner = try await Self.logIn(client, "owner%40example.org")
            let users = try await Self.page(client, "/editor/users", cookie: owner).1
            let token = String(try #require(users.firstMatch(of: /name="form_token" value="([^"]+)"/)).1)
            for (action, body) in [("remove", ""), ("role", "&role=editor")] {
                let (headers, form) = Self.form("form_token=\(token)&email=owner%40example.org\(body)", cookie: owner)
                try await client.execute(uri: "/editor/users/\(action)", method: .post, headers: headers, body: form) {
                    #expect($0.status == .conflict, "\(action)")
                    #expect(String(buffer: $0.body).contains("make another user an owner first"), "\(action)")
                }
            }
            let (headers, form) = Self.form("form_token=\(token)&email=nobody%40example.org", cookie: owner)
            try await client.execute(uri: "/editor/users/remove", method: .post, headers: headers, body: form) {
                #expect($0.status == .notFound)
            }
            // The shared token stays retired.
            try await client.execute(uri: "/editor/issues", method: .get, headers: [.authorization: "Bearer \(Self.token)"]) {
                #expect($0.status == .unauthorized)
            }
        }
        #expect(try await store.editorUsers().map(\.role) == [.owner])
        #expect(try await store.auditEntries(subject: "owner@example.org", limit: 5).isEmpty)
    }

    @Test func withoutATokenOrAnyUserTheLoginDoesNotExist() async throws {
        let store = try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path)
        try await withServer(store, time: ManualTime()) { client in
            for uri in ["/editor/login", "/editor/issues", "/editor/audit"] {
                try await client.execute(uri: uri, method: .get) { #expect($0.status == .notFound, "\(uri)") }
            }
        }
    }
}
