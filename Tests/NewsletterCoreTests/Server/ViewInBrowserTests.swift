import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// "View in the browser" in every email: the archive page while the archive shows the issue,
/// the issue alone (no personal link) when it hides it, and nothing for a wrong key or a draft.
struct ViewInBrowserTests {
    let directory: URL
    let store: AppDatabase
    var settings = IssueSettings()
    let sent = try! IssueWeek(parsing: "2026-W47")
    let draft = try! IssueWeek(parsing: "2026-W48")
    static let templates = try! TemplateSet.load(
        directory: TestPaths.repository.appendingPathComponent("templates").path)

    init() async throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("n.sqlite").path)
        settings.publicURL = "https://news.example.org"
        for (week, published) in [(sent, "2026-11-17T10:00:00Z"), (draft, "2026-11-24T10:00:00Z")] {
            var comparison = try StoreFixtures.comparison("A vs B \(week)", published: published)
            comparison.url = "https://site.example/compare/\(week)"
            _ = try await store.saveComparison(comparison)
            let built = try await IssuePreview(
                store: store, templates: Self.templates, settings: settings,
                outboxDirectory: directory.appendingPathComponent("outbox").path
            ).preview(week).draft
            if week == sent {
                try await store.approve(week, hash: built.hash, at: Date())
                try await store.markSent(week, at: Date())
            }
        }
    }

    func viewURL(_ week: IssueWeek) async throws -> String {
        let issue = try #require(try await store.issue(week))
        let key = try #require(issue.variants?.viewKey)
        return ArchivePages.viewURL(publicURL: settings.publicURL, week: week, key: key)
    }

    func get(_ uri: String) async throws -> (HTTPResponse.Status, HTTPFields, String) {
        try await TestServer.app(store: store) { $0.issue = settings }.test(.router) { client in
            try await client.execute(uri: uri, method: .get) { ($0.status, $0.headers, String(buffer: $0.body)) }
        }
    }

    @Test func everyEmailLinksToItsIssueInTheBrowser() async throws {
        let issue = try #require(try await store.issue(sent))
        let url = try await viewURL(sent)
        #expect(issue.html?.contains(#"href="\#(url)""#) == true)
        #expect(issue.text?.contains("View in the browser:\n\(url)\n") == true)
        // The link is the server's own page: never rewritten into a tracked one.
        #expect(try await store.trackedLinks(sent).allSatisfy { !$0.target.contains("/view/") })
    }

    @Test func aShownIssueLeadsToItsArchivePageAndAHiddenOneShowsAlone() async throws {
        let path = try await viewURL(sent).replacingOccurrences(of: settings.publicURL, with: "")
        let (status, headers, _) = try await get(path)
        #expect(status == .found && headers[.location] == "https://news.example.org/archive/\(sent)")

        #expect(try await store.setHiddenFromArchive(sent, hidden: true))
        #expect(try await get("/archive/\(sent)").0 == .notFound, "the archive hides it")
        let (hiddenStatus, hiddenHeaders, page) = try await get(path)
        #expect(hiddenStatus == .ok)
        #expect(page.contains("A vs B \(sent)"))
        #expect(!page.contains("%%") && !page.contains("/unsubscribe/") && !page.contains("/preferences/"))
        #expect(hiddenHeaders[HTTPField.Name("X-Robots-Tag")!] == "noindex")
    }

    @Test func aWrongKeyOrADraftIsNotFound() async throws {
        let path = try await viewURL(sent).replacingOccurrences(of: settings.publicURL, with: "")
        let wrong = String(path.dropLast()) + (path.hasSuffix("a") ? "b" : "a")
        #expect(try await get(wrong).0 == .notFound)
        #expect(try await get("/archive/\(sent)/view/x").0 == .notFound)
        let draftPath = try await viewURL(draft).replacingOccurrences(of: settings.publicURL, with: "")
        #expect(try await get(draftPath).0 == .notFound)
    }
}

/// Under per-reader counting the signup page says so; otherwise it says nothing about clicks.
struct SignupClickNoticeTests {
    @Test(arguments: [ClickTracking.aggregate, .perReader, .off])
    func theSignupPageSaysWhenEachReadersClicksAreCounted(_ mode: ClickTracking) async throws {
        let store = try AppDatabase.open(
            path: try TestPaths.temporaryDirectory().appendingPathComponent("n.sqlite").path)
        try await TestServer.app(store: store) { $0.issue.clicks = mode }.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                let body = String(buffer: response.body)
                #expect(body.contains("counts the clicks of each reader") == (mode == .perReader))
            }
        }
    }
}
