import Foundation
import HTTPTypes
import Hummingbird

/// The public archive: `GET /archive` (sent issues, newest first), `GET /archive/WEEK` (one
/// issue as sent, with neutral text for the per-subscriber parts) and `GET /archive/feed.xml`
/// (Atom). Only sent issues an editor has not hidden; the same headers as every other page.
public struct ArchiveRoutes<Store: ArchiveStore>: Sendable {
    public var store: Store
    public var archive: ArchivePages
    public var pages: PageRenderer

    public init(store: Store, archive: ArchivePages, pages: PageRenderer) {
        self.store = store
        self.archive = archive
        self.pages = pages
    }

    public func register(on router: Router<some RequestContext>) {
        router.get("/archive") { _, _ in
            let issues = try await store.sentIssues()
            return Self.respond(archive.index(issues), contentType: "text/html; charset=utf-8")
        }
        router.get("/archive/feed.xml") { _, _ in
            let issues = try await store.sentIssues()
            return Self.respond(archive.feed(issues), contentType: "application/atom+xml; charset=utf-8")
        }
        router.get("/archive/:week") { _, context in
            let text = try context.parameters.require("week")
            guard let week = try? IssueWeek(parsing: text) else { return notFound() }
            let issue = try await store.sentIssue(week)
            guard let issue, let page = archive.issuePage(issue) else { return notFound() }
            return Self.respond(page, contentType: "text/html; charset=utf-8")
        }
        router.get("/archive/:week/view/:key") { _, context in try await view(context) }
    }

    /// "View in the browser": the archive page while it shows the issue, else the issue alone,
    /// for whoever holds the key the email carried (the archive hides it from everyone else).
    func view(_ context: some RequestContext) async throws -> Response {
        guard let week = try? IssueWeek(parsing: try context.parameters.require("week")),
            let key = context.parameters.get("key"), TrackedLink.isWellFormedID(key[...]),
            let issue = try await store.sentIssue(week), let expected = issue.variants?.viewKey,
            Array(expected.utf8) == Array(key.utf8)
        else { return notFound() }
        if !issue.hiddenFromArchive {
            return Response(status: .found, headers: [.location: archive.issueURL(week), .cacheControl: "no-store"])
        }
        guard let page = archive.issuePage(alone: issue) else { return notFound() }
        var response = Self.respond(page, contentType: "text/html; charset=utf-8")
        // Hidden from the archive: not for search engines either.
        response.headers[HTTPField.Name("X-Robots-Tag")!] = "noindex"
        return response
    }

    private func notFound() -> Response {
        pages.page(
            "message", ["title": "Not found", "message": "There is no published issue at this address."],
            status: .notFound)
    }

    static func respond(_ body: String, contentType: String) -> Response {
        Response(
            status: .ok, headers: PageRenderer.headers(contentType: contentType),
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
