import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// Inputs found in review to crash the tool or to reach what they should not.
struct HostileInputTests {
    let reader = ComparisonPageReader()

    @Test func panelShipWithNothingAboveItIsAnErrorNotACrash() {
        for page in [
            "Panel ship\nA vs B\n75%\nPanel ship\nReviewer scorecard\n",
            "<html><head><title>A vs B</title></head><body><p>Panel ship</p><p>75%</p><p>Panel ship</p><p>Reviewer scorecard</p></body></html>",
        ] {
            #expect(throws: PageError.self) { try reader.read(Array(page.utf8), source: "odd") }
        }
    }

    @Test func aTaglineStartingWithPublishedIsNotADateLine() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), as: UTF8.self)
        let changed = text.replacingOccurrences(
            of: "Meeting notes that turn into tickets before the call ends",
            with: "Published research says meetings are too long")
        #expect(try reader.read(Array(changed.utf8), source: "p").tools[0].tagline.hasPrefix("Published research"))
    }

    @Test func controlCharactersInPagesNeverReachATerminal() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), as: UTF8.self)
        let hostile = text.replacingOccurrences(
            of: "Compare/Driftnote vs Cobaltline",
            with: "Compare/Driftnote vs Cobaltline\u{1B}]0;pwned\u{07}\u{1B}[2J\u{9B}"
        )
        .replacingOccurrences(of: "\nDriftnote vs Cobaltline\n", with: "\nDriftnote vs Cobaltline\u{1B}[2J\n")
        let comparison = try reader.read(Array(hostile.utf8), source: "esc")
        #expect(comparison.title == "Driftnote vs Cobaltline[2J")
        #expect(!comparison.title.unicodeScalars.contains { $0.properties.generalCategory == .control })
    }

    @Test func datesAreReadWhole() {
        #expect(PublishedDate.parse("2026-11-22T23:30:00") == PublishedDate.parse("2026-11-22T23:30:00Z"))
        #expect(PublishedDate.parse("2026-11-22T23:30:00Z")! > PublishedDate.parse("2026-11-22")!)
        #expect(PublishedDate.parse("2026-02-30") == nil)
        #expect(PublishedDate.parse("2026-11-22") != nil)
    }

    @Test func weeksAreParsedStrictly() async {
        for bad in ["+026-W01", "9999-W52", "2026-W4", "2026--W48", " 2026-W4 8"] {
            #expect(throws: WeekError.self, "\(bad)") { try IssueWeek(parsing: bad) }
        }
        #expect((try? IssueWeek(parsing: "9998-W52"))?.next != nil)
    }

    @Test func aFeedOnTheWebCannotMakeIngestReadLocalFiles() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let secret = try TestPaths.temporaryDirectory().appendingPathComponent("secret.txt")
        try FileManager.default.copyItem(at: TestPaths.fixture("labelled-basic.txt"), to: secret)
        try """
        <?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title>
        <entry><title>a</title><link href="file://\(secret.path)"/></entry>
        <entry><title>b</title><link href="file:///etc/passwd"/></entry>
        </feed>
        """.write(to: directory.appendingPathComponent("feed.xml"), atomically: true, encoding: .utf8)
        let server = try LocalHTTPServer(serving: directory)
        let results = await Ingester(
            store: AppDatabase?.none,
            fetcher: CurlFetcher(maxBytes: 1 << 20, timeoutSeconds: 5, connectTimeoutSeconds: 5, userAgent: "t"),
            options: IngestOptions(dryRun: true), logger: Logger(label: "t")
        ).ingest(["\(server.baseURL)/feed.xml"])
        #expect(results.count == 2)
        #expect(results.allSatisfy { $0.error?.kind == .brokenFeed && $0.error?.message.contains("may not") == true })
        #expect(results.allSatisfy { $0.comparison == nil })
    }

    @Test func aFeedFileMayLinkOnlyBelowItsOwnDirectory() {
        let base = URL(fileURLWithPath: "/srv/feeds/weekly/feed.xml")
        #expect(Feed.resolve("page.txt", against: base) == "/srv/feeds/weekly/page.txt")
        #expect(Feed.resolve("pages/a.html", against: base) == "/srv/feeds/weekly/pages/a.html")
        #expect(Feed.resolve("../secret.txt", against: base) == nil)
        #expect(Feed.resolve("file:///etc/passwd", against: base) == nil)
        #expect(Feed.resolve("https://example.com/a", against: base) == "https://example.com/a")
        #expect(Feed.resolve("ftp://example.com/a", against: base) == nil)
        let web = URL(string: "https://example.com/feed.xml")!
        #expect(Feed.resolve("/compare/a", against: web) == "https://example.com/compare/a")
        #expect(Feed.resolve("file:///etc/passwd", against: web) == nil)
    }

    @Test func aPageURLCannotCarryAPlaceholder() {
        #expect(IssueContent.linkableURL("https://evil.example/%%UNSUBSCRIBE_URL%%?x=%%GREETING%%") == nil)
        #expect(IssueContent.linkableURL("javascript:alert(1)") == nil)
        #expect(IssueContent.linkableURL("httpx://example.com") == nil)
        #expect(IssueContent.linkableURL("https://example.com/a b") == nil)
        #expect(IssueContent.linkableURL("https://example.com/compare/a-vs-b") == "https://example.com/compare/a-vs-b")
    }
}
