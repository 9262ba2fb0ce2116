import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The forms posted before a session exists (the login, an invitation's password) carry a
/// token bound to the browser's pre-session cookie: another site's post is refused, with a
/// fresh form, and counts as no failed login.
@Suite("Editor login CSRF")
struct EditorLoginCSRFTests {
    typealias Accounts = EditorAccountRoutesTests
    let accounts = EditorAccountRoutesTests()

    func store() throws -> AppDatabase {
        try AppDatabase.open(path: try TestPaths.temporaryDirectory().appendingPathComponent("s.sqlite").path)
    }

    static func post(_ client: any TestClientProtocol, _ uri: String, _ body: String, loginCookie: String?)
        async throws -> (status: HTTPResponse.Status, setCookies: [String], body: String)
    {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let loginCookie { headers[.cookie] = "newsletter_login=\(loginCookie)" }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) {
            ($0.status, $0.headers[values: .setCookie], String(buffer: $0.body))
        }
    }

    @Test func theLoginPageSetsAStrictShortLivedPreSessionCookie() async throws {
        let store = try store()
        try await accounts.seed(store, [("ada@example.org", .editor)])
        try await accounts.withServer(store, time: ManualTime()) { client in
            try await client.execute(uri: "/editor/login", method: .get) {
                let cookie = try #require($0.headers[.setCookie])
                for attribute in ["newsletter_login=", "HttpOnly", "Secure", "SameSite=Strict", "Path=/editor", "Max-Age=3600"] {
                    #expect(cookie.contains(attribute), "\(cookie)")
                }
                #expect($0.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test func aLoginPostWithoutItsFormsCookieAndTokenIsRefusedWithAFreshFormAndCountsNoFailure() async throws {
        let store = try store()
        // The attacker's own account: their right password is what a login CSRF posts.
        try await accounts.seed(store, [("mallory@example.org", .editor)])
        let time = ManualTime()
        try await accounts.withServer(store, time: time) { client in
            let credentials = "email=mallory%40example.org&password=a+long+passphrase"
            let (cookie, token) = try await Accounts.formCookieAndToken(client)
            let (otherCookie, _) = try await Accounts.formCookieAndToken(client)
            let refusals: [(body: String, cookie: String?, says: String)] = [
                (credentials, nil, "The post came without the login page&#39;s cookie"),
                (credentials + "&form_token=\(token)", nil, "The post came without the login page&#39;s cookie"),
                (credentials, cookie, "The post did not come from this server&#39;s form in this browser"),
                (credentials + "&form_token=\(token)", otherCookie, "The post did not come from this server&#39;s form in this browser"),
                (credentials + "&form_token=1.\(String(repeating: "0", count: 64))", cookie, "The post did not come from this server&#39;s form"),
                (credentials + "&form_token=\(token)", "short", "The post came without the login page&#39;s cookie"),
            ]
            // More refusals than the five failed logins an account may have.
            for refusal in refusals + refusals {
                let answer = try await Self.post(client, "/editor/login", refusal.body, loginCookie: refusal.cookie)
                #expect(answer.status == .forbidden, "\(refusal)")
                #expect(answer.body.contains(refusal.says), "\(refusal): \(answer.body)")
                #expect(!answer.setCookies.contains { $0.hasPrefix("newsletter_editor=") }, "\(refusal)")
                // A fresh form: a cookie and a token that work together.
                let fresh = try #require(answer.setCookies.first { $0.hasPrefix("newsletter_login=") })
                let freshCookie = String(try #require(fresh.firstMatch(of: /newsletter_login=([A-Za-z0-9_-]{43});/)).1)
                #expect(answer.body.contains(#"name="form_token" value=""#))
                // The browser's own pre-session is kept (another tab's form still works).
                #expect((freshCookie == cookie) == (refusal.cookie == cookie), "\(refusal)")
            }
            #expect(try await store.editorUsers().count == 1)
            // An hour later the page's token is stale.
            time.advance(by: .seconds(3601))
            let stale = try await Self.post(client, "/editor/login", credentials + "&form_token=\(token)", loginCookie: cookie)
            #expect(stale.status == .forbidden && stale.body.contains("The form was over an hour old"))
            // The real form logs in: none of the refusals counted as a failed login.
            let session = try await Accounts.logIn(client, "mallory%40example.org")
            #expect(!session.isEmpty)
        }
    }

    @Test func theFreshFormOfARefusalLogsIn() async throws {
        let store = try store()
        try await accounts.seed(store, [("ada@example.org", .editor)])
        try await accounts.withServer(store, time: ManualTime()) { client in
            let credentials = "email=ada%40example.org&password=a+long+passphrase"
            let refused = try await Self.post(client, "/editor/login", credentials, loginCookie: nil)
            #expect(refused.status == .forbidden)
            let fresh = try #require(refused.setCookies.first { $0.hasPrefix("newsletter_login=") })
            let cookie = String(try #require(fresh.firstMatch(of: /newsletter_login=([A-Za-z0-9_-]{43});/)).1)
            let token = String(try #require(refused.body.firstMatch(of: /name="form_token" value="([^"]+)"/)).1)
            let accepted = try await Self.post(client, "/editor/login", credentials + "&form_token=\(token)", loginCookie: cookie)
            #expect(accepted.status == .seeOther)
            #expect(accepted.setCookies.contains { $0.hasPrefix("newsletter_editor=") })
        }
    }

    @Test func anInvitationsPasswordIsSetOnlyFromItsOwnFormInTheSameBrowser() async throws {
        let store = try store()
        let admin = EditorUserAdmin(store: store, passwords: EditorPassword(cost: 4), time: ManualTime())
        let (_, first) = try await admin.invite(email: "new@example.org", role: .viewer, actor: "cli")
        let (_, second) = try await admin.invite(email: "other@example.org", role: .viewer, actor: "cli")
        try await accounts.withServer(store, time: ManualTime()) { client in
            let link = "/editor/invite/\(first)"
            let (cookie, token) = try await Accounts.formCookieAndToken(client, link)
            let (_, otherToken) = try await Accounts.formCookieAndToken(client, "/editor/invite/\(second)")
            let (_, loginToken) = try await Accounts.formCookieAndToken(client)
            for (body, sentCookie) in [
                ("password=a+long+passphrase", cookie),
                ("password=a+long+passphrase&form_token=\(token)", nil),
                ("password=a+long+passphrase&form_token=\(otherToken)", cookie),
                ("password=a+long+passphrase&form_token=\(loginToken)", cookie),
            ] {
                let answer = try await Self.post(client, link, body, loginCookie: sentCookie)
                #expect(answer.status == .forbidden, "\(body)")
                #expect(answer.body.contains("Set your password") && answer.body.contains("use the form below"), "\(answer.body)")
            }
            #expect(try await store.editorCredentials(email: "new@example.org")?.passwordHash == nil)
            let accepted = try await Self.post(
                client, link, "password=a+long+passphrase&form_token=\(token)", loginCookie: cookie)
            #expect(accepted.status == .ok && accepted.body.contains("Your password is set, new@example.org"))
            _ = try await Accounts.logIn(client, "new%40example.org")
        }
    }
}
