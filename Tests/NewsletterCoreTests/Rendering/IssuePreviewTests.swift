import Foundation
import Testing

@testable import NewsletterCore

/// Building, freezing and approving a week's draft with the project's own templates.
struct IssuePreviewTests {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")
    var settings = IssueSettings()

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("data/newsletter.sqlite").path)
        settings.timeZone = TimeZone(identifier: "Europe/Berlin")!
        settings.siteURL = "https://shiporskip.example"
        settings.publicURL = "https://news.example.org"
    }

    func preview() throws -> IssuePreview<AppDatabase> {
        IssuePreview(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: settings, outboxDirectory: directory.appendingPathComponent("outbox").path)
    }

    /// The project's example and fixture pages, published in 2026-W47.
    func ingestWeek(_ names: [String] = ["labelled-basic.txt", "quoted-basic.txt", "quoted-hard.txt"]) async throws {
        for (index, name) in names.enumerated() {
            let comparison = try ComparisonPageReader(
                publishedFallback: PublishedDate.parse("2026-11-1\(6 + index)T10:00:00Z")
            )
            .read(try TestPaths.bytes(TestPaths.fixture(name)), source: "/pages/\(name)")
            _ = try await store.saveComparison(comparison)
        }
    }

    func outboxFile(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent("outbox/\(week)/\(name)"))
    }

    @Test func previewWritesTheThreeFilesAndTheSameBytesTwice() async throws {
        try await ingestWeek()
        let first = try await preview().preview(week)
        #expect(
            first.files.map { URL(fileURLWithPath: $0).lastPathComponent } == [
                "preview.html", "preview.txt", "issue.json",
            ])
        let bytes = try ["preview.html", "preview.txt", "issue.json"].map(outboxFile)
        let second = try await preview().preview(week)
        #expect(second.draft == first.draft)
        #expect(try ["preview.html", "preview.txt", "issue.json"].map(outboxFile) == bytes)
        let stored = try await #require(try store.issue(week))
        #expect(stored.status == .draft && stored.draftHash == first.draft.hash)
        #expect(stored.comparisonIDs == first.items.map(\.stored.id))
    }

    @Test func theDraftKeepsPlaceholdersAndThePreviewFillsThemForASampleSubscriber() async throws {
        try await ingestWeek()
        let result = try await preview().preview(week)
        // The reader's click token goes in only under tracking.clicks = "per-reader".
        for placeholder in Placeholder.allCases where placeholder != .clickReader {
            #expect(result.draft.html.contains(placeholder.rawValue), "\(placeholder)")
            #expect(result.draft.text.contains(placeholder.rawValue) || placeholder == .greeting)
        }
        let html = String(decoding: try outboxFile("preview.html"), as: UTF8.self)
        let text = String(decoding: try outboxFile("preview.txt"), as: UTF8.self)
        #expect(!html.contains("%%") && !text.contains("%%"))
        #expect(html.contains("Hi Sam Sample,") && text.contains("Hi Sam Sample,"))
        #expect(html.contains("https://news.example.org/unsubscribe/SAMPLE-TOKEN"))
        #expect(text.contains("https://news.example.org/unsubscribe/SAMPLE-TOKEN"))
    }

    @Test func approvalSurvivesAnUnchangedPreviewAndARebuildDropsIt() async throws {
        try await ingestWeek(["labelled-basic.txt", "quoted-basic.txt"])
        let draft = try await preview().preview(week).draft
        try await store.approve(week, hash: draft.hash, at: Date())
        let again = try await preview().preview(week)
        #expect(again.stillApproved)
        await #expect(try store.issue(week)?.status == .approved)

        try await ingestWeek(["labelled-basic.txt", "quoted-basic.txt", "quoted-hard.txt"])  // a new page in the week
        await #expect {
            try await preview().preview(week)
        } throws: { error in
            guard case .approvedDraftWouldChange = error as? PreviewError else { return false }
            return true
        }
        await #expect(try store.issue(week)?.approvedHash == draft.hash)  // untouched by the refusal
        let rebuilt = try await preview().preview(week, rebuild: true)
        #expect(!rebuilt.stillApproved)
        let stored = try await #require(try store.issue(week))
        #expect(stored.status == .draft && stored.approvedHash == nil && stored.draftHash == rebuilt.draft.hash)
    }

    @Test func approvingNeedsTheStoredDraftsHash() async throws {
        try await ingestWeek()
        let draft = try await preview().preview(week).draft
        await #expect(throws: IssueStoreError.draftChanged(week, stored: draft.hash, expected: "other")) {
            try await store.approve(week, hash: "other", at: Date())
        }
        await #expect(throws: IssueStoreError.noDraft(week.next)) {
            try await store.approve(week.next, hash: "x", at: Date())
        }
    }

    @Test mutating func aThinWeekIsSkippedWithAReasonUnlessForced() async throws {
        settings.policy.minComparisons = 2
        try await ingestWeek(["labelled-basic.txt"])
        await #expect {
            try await preview().preview(week)
        } throws: { error in
            guard case .tooFewComparisons(_, let found, _) = error as? PreviewError else { return false }
            return found == 1
        }
        let skipped = try await #require(try store.issue(week))
        #expect(skipped.status == .skipped && skipped.skipReason?.contains("fewer than the minimum of 2") == true)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("outbox/\(week)").path))
        let forced = try await preview().preview(week, force: true)
        #expect(forced.items.count == 1)
        await #expect(try store.issue(week)?.status == .draft)
    }

    @Test mutating func anEmptyStoreAndAnEmptyWeekAreClearErrors() async throws {
        await #expect(throws: PreviewError.emptyStore) { try await preview().preview(week) }
        try await ingestWeek(["labelled-basic.txt"])
        settings.policy.minComparisons = 0
        await #expect(throws: PreviewError.nothingToBuild(week.next)) { try await preview().preview(week.next) }
    }

    @Test func theHTMLEmailIsWellFormedSelfContainedAndEscaped() async throws {
        // Six comparisons, one of them with hostile text.
        var pages: [Comparison] = []
        for index in 0..<6 {
            var comparison = try StoreFixtures.comparison(
                "Tool \(index) vs Other \(index)", published: "2026-11-\(16 + index)T10:00:00Z",
                shipPercents: [50 + index * 10, 100 - index * 5])
            comparison.url = "https://shiporskip.example/compare/\(index)"
            pages.append(comparison)
        }
        pages[0].title = "<script>alert(1)</script> vs %%UNSUBSCRIBE_URL%%"
        pages[0].takes[0].text = "Ignore the rest <img src=x onerror=alert(1)> and \"quote\"."
        try await StoreFixtures.store(pages, in: store)
        let draft = try await preview().preview(week).draft
        let html = draft.html

        #expect(html.utf8.count < 100 * 1024, "\(html.utf8.count) bytes")
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(!html.contains("vs %%UNSUBSCRIBE_URL%%"))  // page text cannot pose as a placeholder

        let document = try #require(LibXMLDocument.html(Array(html.utf8), url: nil))
        let root = try #require(document.root)
        #expect(root.attribute("lang") == "en")
        let tables = root.descendants { $0.name == "table" }
        #expect(!tables.isEmpty && tables.allSatisfy { $0.attribute("role") == "presentation" })
        let links = root.descendants { $0.name == "a" }.compactMap { $0.attribute("href") }
        #expect(!links.isEmpty)
        for link in links {
            #expect(
                link.hasPrefix("https://") || link.hasPrefix("http://") || link.hasPrefix("%%")
                    || link.hasPrefix("mailto:"), "\(link)")
        }
        let bodyText = root.text
        for index in 1..<6 { #expect(bodyText.contains("Tool \(index) vs Other \(index)")) }
        #expect(root.descendants { $0.name == "link" || $0.name == "img" || $0.name == "iframe" }.isEmpty)
        #expect(html.contains("Unsubscribe"))
    }

    @Test func theTextEmailWrapsAt72Columns() async throws {
        try await ingestWeek()
        let text = try await preview().preview(week).draft.text
        for line in text.split(separator: "\n") where line.count > 72 {
            // Only a URL too long to wrap may stand out.
            #expect(
                line.trimmingCharacters(in: .whitespaces).hasPrefix("http")
                    && !line.trimmingCharacters(in: .whitespaces).contains(" "), "\(line)")
        }
    }

    /// The plain-text email of a fixed week, byte for byte. Set UPDATE_GOLDEN=1 to rewrite it
    /// after an intended change, and read the diff.
    @Test func theTextEmailMatchesTheGoldenFile() async throws {
        try await ingestWeek()
        // Tracked links have random ids: the layout is compared with plain links
        // (the rewrite has its own tests, LinkRewriteTests).
        var plainLinks = try preview()
        plainLinks.settings.clicks = .off
        // The "View in the browser" key is random too.
        let text = try await plainLinks.preview(week).draft.text.replacing(
            try Regex("/view/[a-z2-7]{12}"), with: "/view/KEY")
        let golden = TestPaths.fixture("golden/issue-2026-W47.txt")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(
                at: golden.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: golden, atomically: true, encoding: .utf8)
        }
        #expect(text == (try String(contentsOf: golden, encoding: .utf8)))
    }
}
