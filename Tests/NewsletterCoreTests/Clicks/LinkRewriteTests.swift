import Foundation
import Testing

@testable import NewsletterCore

/// The links of a draft become `/r/{id}` when it is frozen, and the hash covers the result.
struct LinkRewriteTests {
    let week = try! IssueWeek(parsing: "2026-W47")
    let publicURL = "https://news.example.org"

    func rewriter(_ mode: ClickTracking = .aggregate, stored: [TrackedLink] = []) -> LinkRewriter {
        LinkRewriter(mode: mode, publicURL: publicURL, week: week, stored: stored)
    }

    func redirectIDs(in text: String) -> [String] {
        text.components(separatedBy: "\(publicURL)/r/").dropFirst().map { String($0.prefix(TrackedLink.idLength)) }
    }

    @Test func everyWebLinkIsRewrittenAndTheReadersOwnLinksAreNot() {
        var links = rewriter()
        let html = """
            <a href="https://tools.example/compare?a=1&amp;b=2">A</a> <a href="%%UNSUBSCRIBE_URL%%">U</a>
            <a href="mailto:x@example.org">M</a> <a href="https://news.example.org/archive/2026-W47">V</a>
            <a href="https://site.example">S</a>
            """
        let text =
            "Read: https://tools.example/compare?a=1&b=2.\nUnsubscribe: %%UNSUBSCRIBE_URL%%\nhttps://site.example\n"
        let out = links.rewrite(
            html: html, text: text, variant: "everything",
            comparisons: ["https://tools.example/compare?a=1&b=2": 7])
        #expect(links.links.map(\.target) == ["https://tools.example/compare?a=1&b=2", "https://site.example"])
        #expect(links.links.map(\.comparisonID) == [7, nil])
        // One id per target in a variant, in the HTML and the text alike.
        #expect(redirectIDs(in: out.html) == links.links.map(\.id))
        #expect(redirectIDs(in: out.text) == links.links.map(\.id))
        #expect(out.html.contains(#"href="%%UNSUBSCRIBE_URL%%""#) && out.html.contains("mailto:x@example.org"))
        #expect(out.html.contains("https://news.example.org/archive/2026-W47"), "the server's own pages stay")
        #expect(out.text.contains("Read: \(publicURL)/r/\(links.links[0].id).\n"), "the full stop stays outside")
        #expect(!out.html.contains("tools.example") && !out.text.contains("site.example"))
        #expect(links.links.allSatisfy { TrackedLink.isWellFormedID($0.id[...]) })
    }

    @Test func aTargetThatCouldInjectAHeaderIsLeftAsItIs() {
        var links = rewriter()
        let html =
            #"<a href="https://evil.example/&#13;&#10;Set-Cookie: x=1">E</a><a href="javascript:alert(1)">J</a>"#
            + #"<a href="https://ünï.example/é">U</a>"#
        let out = links.rewrite(html: html, text: "", variant: "everything", comparisons: [:])
        #expect(links.links.isEmpty)
        #expect(out.html == html)
    }

    @Test func aStoredLinkKeepsItsIdSoTheSameDraftHasTheSameBytes() {
        var first = rewriter()
        let html = #"<a href="https://a.example">A</a>"#
        let once = first.rewrite(html: html, text: "https://a.example", variant: "ai", comparisons: [:])
        var again = rewriter(stored: first.links)
        #expect(again.rewrite(html: html, text: "https://a.example", variant: "ai", comparisons: [:]) == once)
        // Another variant's link to the same target is counted apart.
        var other = rewriter(stored: first.links)
        _ = other.rewrite(html: html, text: "", variant: "everything", comparisons: [:])
        #expect(other.links[0].id != first.links[0].id)
    }

    @Test func perReaderLinksCarryTheReadersPlaceholderAndOffLeavesThemPlain() {
        var perReader = rewriter(.perReader)
        let html = #"<a href="https://a.example">A</a>"#
        let out = perReader.rewrite(html: html, text: "https://a.example", variant: "everything", comparisons: [:])
        #expect(out.text == "\(publicURL)/r/\(perReader.links[0].id)\(Placeholder.clickReader.rawValue)")
        var off = rewriter(.off)
        #expect(
            off.rewrite(html: html, text: "https://a.example", variant: "everything", comparisons: [:]) == (
                html, "https://a.example"
            ))
        #expect(off.links.isEmpty)
    }

    @Test func idsAreRandomAndWellFormed() {
        let ids = (0..<1000).map { _ in TrackedLink.newID() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { TrackedLink.isWellFormedID($0[...]) })
        #expect(!TrackedLink.isWellFormedID("AAAAAAAAAAAA") && !TrackedLink.isWellFormedID("aaaaaaaaaaaaa"))
    }
}

/// A draft built by `IssuePreview`: tracked links in every variant, stored, covered by the hash.
struct FrozenLinksTests {
    let directory = try! TestPaths.temporaryDirectory()
    let week = try! IssueWeek(parsing: "2026-W47")
    let store: AppDatabase

    init() throws {
        store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
    }

    func preview(_ mode: ClickTracking) throws -> IssuePreview<AppDatabase> {
        var settings = IssueSettings()
        settings.publicURL = "https://news.example.org"
        settings.clicks = mode
        return IssuePreview(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: settings, outboxDirectory: directory.appendingPathComponent("outbox").path)
    }

    func ingest() async throws {
        for (index, name) in ["labelled-basic.txt", "quoted-basic.txt"].enumerated() {
            var comparison = try ComparisonPageReader(
                publishedFallback: PublishedDate.parse("2026-11-1\(6 + index)T10:00:00Z")
            ).read(try TestPaths.bytes(TestPaths.fixture(name)), source: "/pages/\(name)")
            comparison.url = "https://tools.example/compare/\(index)?from=mail&amp=1"
            _ = try await store.saveComparison(comparison)
        }
    }

    /// Every http(s) link of a body (an HTML body's href values, a text's URLs) that is not
    /// the server's own (tracked links and the archive are).
    func untracked(_ body: String, html: Bool) -> [String] {
        let pattern = try! Regex(html ? #"href="(https?://[^"]+)""# : #"(https?://[^\s]+)"#)
        return body.matches(of: pattern).compactMap { $0.output[1].substring.map(String.init) }.filter {
            !$0.hasPrefix("https://news.example.org/")
        }
    }

    @Test func theFrozenDraftLinksOnlyThroughTheRedirectAndTheHashCoversIt() async throws {
        try await ingest()
        let result = try await preview(.aggregate).preview(week)
        let draft = result.draft
        #expect(untracked(draft.html, html: true).isEmpty, "\(untracked(draft.html, html: true))")
        #expect(untracked(draft.text, html: false).isEmpty, "\(untracked(draft.text, html: false))")
        #expect(!draft.html.contains("tools.example") && !draft.text.contains("tools.example"))
        #expect(draft.hash == DraftHash.of(subject: draft.subject, html: draft.html, text: draft.text))
        let stored = try await store.trackedLinks(week)
        #expect(!stored.isEmpty && stored == draft.links)
        #expect(stored.allSatisfy { draft.html.contains("/r/\($0.id)") })
        // Each comparison's own link is stored with the comparison.
        let comparisonIDs = Set(stored.compactMap(\.comparisonID))
        #expect(comparisonIDs == Set(result.items.filter { $0.stored.comparison.url != nil }.map(\.stored.id)))
        #expect(!comparisonIDs.isEmpty)
        // The preview shows the same frozen links (it counts nothing: the issue is not sent).
        let preview = try String(
            contentsOf: directory.appendingPathComponent("outbox/\(week)/preview.html"), encoding: .utf8)
        #expect(stored.allSatisfy { preview.contains("/r/\($0.id)") })
    }

    @Test func anApprovalSurvivesAPreviewButNotAChangeOfTrackingMode() async throws {
        try await ingest()
        let first = try await preview(.aggregate).preview(week)
        try await store.approve(week, hash: first.draft.hash, at: Date())
        let again = try await preview(.aggregate).preview(week)
        #expect(again.stillApproved && again.draft == first.draft)
        await #expect(throws: PreviewError.self) { try await preview(.off).preview(week) }
        let plain = try await preview(.off).preview(week, rebuild: true)
        #expect(plain.draft.links.isEmpty && !plain.draft.html.contains("/r/"))
        #expect(try await store.trackedLinks(week).isEmpty)
    }
}
