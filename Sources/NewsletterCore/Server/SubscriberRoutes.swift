import Foundation
import HTTPTypes
import Hummingbird

/// What the subscriber-facing routes need from the store.
public protocol UnsubscribeStore: Sendable {
    /// The subscriber a one-click token belongs to, if the token exists.
    func subscriber(unsubscribeToken: String) throws -> Subscriber?
    /// Unsubscribes the token's subscriber; doing it twice changes nothing.
    func unsubscribe(token: String, at time: Date) throws -> UnsubscribeOutcome
}

public enum UnsubscribeOutcome: Equatable, Sendable {
    case unsubscribed(email: String)
    case alreadyUnsubscribed(email: String)
    case unknownToken
}

/// The routes subscribers reach from their mail: the one-click unsubscribe of RFC 8058.
///
/// `GET /unsubscribe/TOKEN` only shows a page with a button (mail scanners follow GETs);
/// `POST /unsubscribe/TOKEN` unsubscribes at once, with no login, for the page's button and for
/// mail clients' one-click POST (`List-Unsubscribe=One-Click`, form-urlencoded or multipart).
/// It never redirects and is idempotent.
public struct SubscriberRoutes<Store: UnsubscribeStore>: Sendable {
    public var store: Store
    public var templates: TemplateSet
    public var settings: IssueSettings
    /// Largest request body accepted, in bytes.
    public var maxBodyBytes = 16 * 1024

    public init(store: Store, templates: TemplateSet, settings: IssueSettings) {
        self.store = store
        self.templates = templates
        self.settings = settings
    }

    public func register(on router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/unsubscribe/:token") { _, context in
            let token = try context.parameters.require("token")
            guard Self.looksLikeToken(token), let subscriber = try store.subscriber(unsubscribeToken: token) else {
                return page(
                    "message", status: .notFound, ["title": "Link not recognised", "message": Self.unknownMessage])
            }
            return page(
                "unsubscribe", status: .ok,
                ["title": "Unsubscribe", "email": subscriber.email, "action": "/unsubscribe/\(token)"])
        }
        router.post("/unsubscribe/:token") { request, context in
            let token = try context.parameters.require("token")
            // The body (RFC 8058's "List-Unsubscribe=One-Click", or the page's empty form) does not
            // change what happens, but an oversized one is refused.
            _ = try await request.body.collect(upTo: maxBodyBytes)
            guard Self.looksLikeToken(token) else {
                return page(
                    "message", status: .notFound, ["title": "Link not recognised", "message": Self.unknownMessage])
            }
            switch try store.unsubscribe(token: token, at: Date()) {
            case .unsubscribed(let email), .alreadyUnsubscribed(let email):
                return page("unsubscribed", status: .ok, ["title": "Unsubscribed", "email": email])
            case .unknownToken:
                return page(
                    "message", status: .notFound, ["title": "Link not recognised", "message": Self.unknownMessage])
            }
        }
    }

    static var unknownMessage: String {
        "This unsubscribe link is not one we sent, or it was copied incompletely. Use the link at the bottom of the latest issue."
    }

    /// Tokens are 43 URL-safe base64 characters; anything else is not looked up at all.
    static func looksLikeToken(_ token: String) -> Bool {
        token.utf8.count == 43
            && token.utf8.allSatisfy {
                ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 95
            }
    }

    private func page(_ name: String, status: HTTPResponse.Status, _ values: [String: String]) -> Response {
        var context: [String: Any] = ["lang": settings.language, "listName": settings.listName]
        for (key, value) in values { context[key] = value }
        let html = templates.render(context, template: "pages/\(name).html")
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }
}
