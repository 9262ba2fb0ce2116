import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The editor's login, logout and invitation pages, and the failed-login limits.
///
/// - `GET /editor/login`, `POST /editor/login` (`email`, `password`, `form_token`): a session,
///   as a random token in an `HttpOnly; Secure; SameSite=Strict; Path=/editor` cookie, stored
///   only as its hash, good for `editor.session_hours`. The form is guarded against login CSRF
///   by ``EditorPreSession``.
/// - `POST /editor/logout` (`form_token`): ends the session.
/// - `GET`/`POST /editor/invite/TOKEN` (`password`, `form_token`): an invited user sets a
///   password; the link works once, until it expires.
struct EditorLogin<Store: NewsletterStore>: Sendable {
    var routes: EditorRoutes<Store>
    var admin: EditorUserAdmin
    var sessionLifetime: TimeInterval
    var limits: EditorLoginLimits
    var trustForwardedFor: Bool
    /// A hash no password matches, checked for an unknown address so that the time a login
    /// takes does not say whether the address is a user's.
    let decoy = DecoyHash()

    func register<Context: EditorRequestContext>(on router: Router<Context>, viewers: RouterGroup<Context>) {
        router.get("/editor/login") { request, _ in
            try await refuseWhenOff()
                ?? loginPage(EditorPreSession(request), next: request.uri.queryParameters.get("next"))
        }
        router.post("/editor/login") { request, context in
            if let off = try await refuseWhenOff() { return off }
            do {
                return try await logIn(request, context)
            } catch let error as BadRequest {
                return routes.pages.failure(error, json: false)
            }
        }
        viewers.post("logout") { request, context in
            do {
                let fields = try await routes.formFields(request)
                try routes.checkFormToken(fields, scope: EditorFormToken.accountScope, context)
                if let hash = context.editor?.sessionTokenHash { try await routes.store.removeEditorSession(tokenHash: hash) }
                var response = Response(status: .seeOther, headers: [.location: "/editor/login"])
                response.setCookie(EditorLoginCookie.expired)
                return response
            } catch let error as BadRequest {
                return routes.pages.failure(error, json: false)
            }
        }
        router.get("/editor/invite/:token") { request, context in
            let token = try context.parameters.require("token")
            guard let user = try await routes.store.editorInvitation(tokenHash: LinkToken.hash(token), at: routes.time.now())
            else { return routes.pages.failure(BadRequest(status: 410, EditorAccountError.invitationUnusable.description), json: false) }
            return invitationPage(EditorPreSession(request), token: token, email: user.email)
        }
        router.post("/editor/invite/:token") { request, context in
            do {
                if EditorRoutes<Store>.crossSite(request) || EditorRoutes<Store>.foreignOrigin(request) {
                    throw BadRequest(status: 403, "the password must be set from the invitation page")
                }
                let token = try context.parameters.require("token")
                let fields = try await routes.formFields(request)
                let preSession = EditorPreSession(request)
                do throws(EditorPreSession.Refusal) {
                    try EditorPreSession.check(request, fields, .invitation(token: token), at: routes.time.now())
                } catch {
                    // A fresh form (the link is not spent), if the link still works.
                    guard let user = try await routes.store.editorInvitation(tokenHash: LinkToken.hash(token), at: routes.time.now())
                    else { throw BadRequest(status: 410, EditorAccountError.invitationUnusable.description) }
                    return invitationPage(preSession, token: token, email: user.email, failure: error.description, status: .forbidden)
                }
                do {
                    let user = try await admin.acceptInvitation(token: token, password: fields["password"] ?? "")
                    return loginPage(preSession, next: nil, notice: "Your password is set, \(user.email): log in.", email: user.email)
                } catch let error as EditorAccountError {
                    throw BadRequest(status: error == .invitationUnusable ? 410 : 422, error.description)
                }
            } catch let error as BadRequest {
                return routes.pages.failure(error, json: false)
            }
        }
    }

    /// 404 while there is neither an editor token nor an editor user, as for every editor page.
    func refuseWhenOff() async throws -> Response? {
        if let token = routes.token, !token.isEmpty { return nil }
        return try await routes.store.editorUsers().isEmpty ? Response(status: .notFound) : nil
    }

    /// The login form, with `preSession`'s cookie and a token bound to it.
    func loginPage(
        _ preSession: EditorPreSession, next: String?, notice: String? = nil, failure: String? = nil, email: String = "",
        status: HTTPResponse.Status = .ok
    ) -> Response {
        formPage(
            "editor-login", preSession,
            [
                "title": "Log in", "email": email, "next": Self.safeNext(next) ?? "",
                "formToken": preSession.formToken(.login, at: routes.time.now()),
                // Flags, not empty strings: Mustache takes "" as true.
                "notice": notice ?? "", "hasNotice": notice != nil, "failure": failure ?? "", "hasFailure": failure != nil,
            ], status: status)
    }

    /// The invitation's password form, with `preSession`'s cookie and a token bound to both.
    func invitationPage(
        _ preSession: EditorPreSession, token: String, email: String, failure: String? = nil,
        status: HTTPResponse.Status = .ok
    ) -> Response {
        formPage(
            "editor-invite", preSession,
            [
                "title": "Set your password", "email": email, "token": token, "minimum": EditorPassword.minimumCharacters,
                "formToken": preSession.formToken(.invitation(token: token), at: routes.time.now()),
                "failure": failure ?? "", "hasFailure": failure != nil,
            ], status: status)
    }

    private func formPage(_ name: String, _ preSession: EditorPreSession, _ values: [String: Any], status: HTTPResponse.Status)
        -> Response
    {
        var response = routes.editorPage(name, values)
        response.status = status
        // Like every page, `no-store` (PageRenderer): no cache hands this browser's token to another.
        response.setCookie(preSession.cookie)
        return response
    }

    /// Only a path of the editor's own is followed after a login: never another site.
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.hasPrefix("/editor/"), !next.hasPrefix("/editor/login"),
            next.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "\\" })
        else { return nil }
        return next
    }

    func logIn(_ request: Request, _ context: some RequestContext) async throws -> Response {
        if EditorRoutes<Store>.crossSite(request) || EditorRoutes<Store>.foreignOrigin(request) {
            throw BadRequest(status: 403, "log in from the login page")
        }
        let fields = try await routes.formFields(request)
        let email = (fields["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = fields["password"] ?? ""
        let preSession = EditorPreSession(request)
        do throws(EditorPreSession.Refusal) {
            try EditorPreSession.check(request, fields, .login, at: routes.time.now())
        } catch {
            // Not a guess at the password: no failed login is counted against the account.
            return loginPage(preSession, next: fields["next"], failure: error.description, email: email, status: .forbidden)
        }
        let client = SubscriberInput.client(request, context, trustForwardedFor: trustForwardedFor).address ?? "unknown"
        if let wait = limits.wait(account: email, client: client) {
            var response = loginPage(
                preSession, next: fields["next"],
                failure: "Too many failed logins: try again in \(wait) seconds.", email: email,
                status: .tooManyRequests)
            response.headers[.retryAfter] = "\(wait)"
            return response
        }
        guard password.utf8.count <= EditorPassword.maximumBytes else {
            // Not hashed, and not a failed guess: nothing bcrypt could check.
            throw BadRequest(status: 422, EditorAccountError.passwordTooLong(bytes: password.utf8.count).description)
        }
        let credentials = try await routes.store.editorCredentials(email: email)
        let hash: String
        if let stored = credentials?.passwordHash { hash = stored } else { hash = try await decoy.hash(admin.passwords) }
        let matches = try await admin.passwords.verify(password, hash: hash)
        guard let user = credentials?.user, credentials?.passwordHash != nil, matches else {
            limits.failed(account: email, client: client)
            routes.logger.notice("failed editor login", metadata: ["client": "\(client)"])
            return loginPage(
                preSession, next: fields["next"], failure: "That address and password do not match an editor user.", email: email,
                status: .unauthorized)
        }
        let token = LinkToken.make()
        let now = routes.time.now()
        try await routes.store.addEditorSession(
            userID: user.id, tokenHash: LinkToken.hash(token), expiresAt: now.addingTimeInterval(sessionLifetime), at: now)
        var response = Response(status: .seeOther, headers: [.location: Self.safeNext(fields["next"]) ?? "/editor/issues"])
        response.setCookie(EditorLoginCookie.session(token, lifetime: sessionLifetime))
        response.setCookie(EditorPreSession.expired)
        return response
    }
}

/// The session cookie: `HttpOnly; Secure; SameSite=Strict; Path=/editor`.
enum EditorLoginCookie {
    static let name = "newsletter_editor"

    static func session(_ token: String, lifetime: TimeInterval) -> Cookie {
        Cookie(
            name: name, value: token, maxAge: Int(lifetime), path: "/editor", secure: true, httpOnly: true,
            sameSite: .strict)
    }

    static var expired: Cookie {
        Cookie(name: name, value: "", maxAge: 0, path: "/editor", secure: true, httpOnly: true, sameSite: .strict)
    }
}

/// Failed logins a minute, per account and per client address, on the injected clock: a
/// guesser gets a few tries, then waits; a successful login costs nothing.
struct EditorLoginLimits: Sendable {
    var perAccount: RateLimiter
    var perClient: RateLimiter

    init(time: any TimeSource) {
        perAccount = RateLimiter(perMinute: 1, burst: 5, time: time)
        perClient = RateLimiter(perMinute: 10, burst: 20, time: time)
    }

    /// nil when a login may be tried now; otherwise the seconds to wait.
    func wait(account: String, client: String) -> Int? {
        [perAccount.wait(account.lowercased()), perClient.wait(client)].compactMap { $0 }.max()
    }

    func failed(account: String, client: String) {
        _ = perAccount.check(account.lowercased())
        _ = perClient.check(client)
    }
}

/// One decoy hash for the process, made on first use.
final class DecoyHash: Sendable {
    private let made = Mutex<String?>(nil)

    func hash(_ passwords: EditorPassword) async throws -> String {
        if let hash = made.withLock({ $0 }) { return hash }
        let hash = try await passwords.decoyHash()
        made.withLock { $0 = $0 ?? hash }
        return hash
    }
}
