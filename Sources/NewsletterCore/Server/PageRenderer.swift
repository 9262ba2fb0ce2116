import Foundation
import HTTPTypes
import Hummingbird

/// Renders the server's pages from `templates/pages/`, with the headers every page gets: no
/// caching (pages name addresses), no referrer (URLs hold tokens) and a strict CSP.
public struct PageRenderer: Sendable {
    public var templates: TemplateSet
    public var settings: IssueSettings

    public init(templates: TemplateSet, settings: IssueSettings) {
        self.templates = templates
        self.settings = settings
    }

    public func page(_ name: String, _ values: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        var context: [String: Any] = [
            "lang": settings.language, "listName": settings.listName,
            // The signup page says so when each reader's clicks are counted.
            "clicksPerReader": settings.clicks == .perReader,
        ]
        for (key, value) in values { context[key] = value }
        let html = templates.render(context, template: "pages/\(name).html")
        return Response(
            status: status, headers: Self.headers(contentType: "text/html; charset=utf-8"),
            body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    public func json(status: HTTPResponse.Status, _ values: [String: String]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: values, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: Self.headers(contentType: "application/json"),
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A refused request: the status and the message naming what was wrong.
    public func failure(_ error: BadRequest, json: Bool) -> Response {
        let status = HTTPResponse.Status(code: error.status)
        var response =
            json
            ? self.json(status: status, ["error": error.message])
            : page("message", ["title": Self.title(for: error.status), "message": error.message], status: status)
        if error.status == 429, let seconds = error.message.split(separator: " ").compactMap({ Int($0) }).last {
            response.headers[.retryAfter] = "\(seconds)"
        }
        return response
    }

    func unknownLink() -> Response {
        page(
            "message",
            [
                "title": "Link not recognised",
                "message":
                    "This link is not one we sent, or it was copied incompletely. Use the link in the latest mail from us.",
            ], status: .notFound)
    }

    func usedConfirmation() -> Response {
        page(
            "message",
            [
                "title": "Link already used",
                "message": "This confirmation link was already used. If you are not receiving issues, sign up again.",
                "signup": true,
            ], status: .gone)
    }

    func expiredConfirmation() -> Response {
        page(
            "message",
            [
                "title": "Link expired",
                "message": "This confirmation link has expired. Sign up again and we will send a fresh one.",
                "signup": true,
            ], status: .gone)
    }

    static func title(for status: Int) -> String {
        switch status {
        case 413: "Too large"
        case 415: "Unsupported form"
        case 429: "Slow down"
        case 401, 403: "Not allowed"
        case 404: "Not found"
        default: "Please check the form"
        }
    }

    static func headers(contentType: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        headers[.cacheControl] = "no-store"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Content-Security-Policy")!] =
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        return headers
    }
}
