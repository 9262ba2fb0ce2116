import Foundation
import HTTPTypes
import Hummingbird

/// Who is acting in the editor pages: a logged-in user, or the shared editor token (which acts
/// as an owner until an owner user exists, and is refused from then on).
public struct EditorPrincipal: Sendable {
    /// What the audit log names: the user's address, or `token`.
    public var actor: String
    public var role: EditorRole
    /// What this editor's forms are signed with: their session, or the shared token.
    var forms: EditorFormToken
    /// The session's token hash, for logging out; nil for the shared token.
    var sessionTokenHash: String?
}

/// A request context that carries the editor the access middleware let in.
public protocol EditorRequestContext: RequestContext {
    var editor: EditorPrincipal? { get set }
}

extension EditorRoutes {
    /// The editor route group for pages that need `role`: the login (session or token) and the
    /// same-site check first, then the role. Every editor page is registered through this one
    /// check, so the API keys and webhooks pages get it too: `editor.group(on: router, requiring: .owner)`.
    public func group<Context: EditorRequestContext>(on router: Router<Context>, requiring role: EditorRole)
        -> RouterGroup<Context>
    {
        router.group("/editor").add(middleware: EditorAccess<Context>(routes: self))
            .add(middleware: EditorRoleCheck<Context>(needed: role, pages: pages))
    }

    /// The editor behind `request`, or the response that refuses it.
    func authenticate(_ request: Request) async throws -> Result<EditorPrincipal, EditorRefusal> {
        if let presented = request.cookies[EditorLoginCookie.name]?.value, !presented.isEmpty,
            let user = try await store.editorSession(tokenHash: LinkToken.hash(presented), at: time.now())
        {
            return .success(
                EditorPrincipal(
                    actor: user.email, role: user.role, forms: EditorFormToken(sessionToken: presented),
                    sessionTokenHash: LinkToken.hash(presented)))
        }
        let tokenConfigured = token.map { !$0.isEmpty } ?? false
        if let token, tokenConfigured, Self.presentsToken(request.headers[.authorization], token: token) {
            guard try await !store.editorOwnerExists() else { return .failure(.tokenRetired) }
            return .success(
                EditorPrincipal(actor: "token", role: .owner, forms: EditorFormToken(editorToken: token)))
        }
        if !tokenConfigured {
            return .failure(try await store.editorUsers().isEmpty ? .off : .logIn)
        }
        return .failure(try await store.editorOwnerExists() ? .logIn : .token)
    }

    /// Why a request was not let in.
    enum EditorRefusal: Error {
        /// No token and no users: the editor pages do not exist.
        case off
        /// The shared token is configured and no owner exists: HTTP Basic asks for it.
        case token
        /// Log in (no session, or an expired or forged one).
        case logIn
        /// The shared token after an owner exists.
        case tokenRetired
    }

    func response(for refusal: EditorRefusal, _ request: Request) -> Response {
        switch refusal {
        case .off:
            return Response(status: .notFound)
        case .token:
            var response = pages.failure(
                BadRequest(
                    status: 401, "the editor pages need the editor token, or a login at /editor/login"),
                json: false)
            response.headers[.wwwAuthenticate] = "Basic realm=\"newsletter editor\", charset=\"UTF-8\""
            return response
        case .tokenRetired:
            return pages.failure(
                BadRequest(
                    status: 401,
                    "the shared editor token is refused now that an owner exists: log in at /editor/login with your address and password (see the README's \"Moving from the shared token\")"
                ), json: false)
        case .logIn:
            guard request.method == .get || request.method == .head else {
                return pages.failure(
                    BadRequest(status: 401, "your editor session has ended: log in again at /editor/login"),
                    json: false)
            }
            // Back to the page asked for after the login; only a path of ours.
            let next = request.uri.path.hasPrefix("/editor/") ? request.uri.path : "/editor/issues"
            return Response(
                status: .seeOther,
                headers: [.location: "/editor/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")])
        }
    }

    /// Editor routes run only after ``authenticate(_:)`` let the request through, and a post
    /// only from the same site.
    struct EditorAccess<Context: EditorRequestContext>: RouterMiddleware {
        var routes: EditorRoutes

        func handle(
            _ request: Request, context: Context, next: (Request, Context) async throws -> Response
        ) async throws -> Response {
            var context = context
            switch try await routes.authenticate(request) {
            case .success(let editor): context.editor = editor
            case .failure(let refusal): return routes.response(for: refusal, request)
            }
            // A browser sends cookies and Basic credentials along with a cross-site form post;
            // refuse those, by Fetch Metadata where the browser sends it and by Origin where not.
            if request.method != .get && request.method != .head
                && (EditorRoutes.crossSite(request) || EditorRoutes.foreignOrigin(request))
            {
                return routes.pages.failure(
                    BadRequest(status: 403, "editor actions must come from the editor pages"), json: false)
            }
            return try await next(request, context)
        }
    }
}

/// Refuses an editor whose role does not allow what the route group needs (403, naming both).
public struct EditorRoleCheck<Context: EditorRequestContext>: RouterMiddleware {
    var needed: EditorRole
    var pages: PageRenderer

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let editor = context.editor else {
            return pages.failure(BadRequest(status: 401, "log in at /editor/login"), json: false)
        }
        guard editor.role.allows(needed) else {
            return pages.failure(
                BadRequest(
                    status: 403,
                    "this needs the \(needed.rawValue) role, and \(editor.actor) is \(Self.article(editor.role)) \(editor.role.rawValue): ask an owner"
                ), json: false)
        }
        return try await next(request, context)
    }

    static func article(_ role: EditorRole) -> String { role == .owner || role == .editor ? "an" : "a" }
}
