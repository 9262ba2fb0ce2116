import Foundation
import Logging
import NewsletterCore
import Testing

/// Ingesting into a real SQLite store: files, directories, feeds over HTTP, bad sources.
struct IngestTests {
    let directory: URL
    let store: AppDatabase

    init() throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("data/newsletter.sqlite").path)
    }

    func ingester(
        _ options: IngestOptions = IngestOptions(), now: @escaping @Sendable () -> Date = { Date() }
    ) -> Ingester<CurlFetcher> {
        Ingester(
            store: store,
            fetcher: CurlFetcher(
                maxBytes: options.maxPageBytes, timeoutSeconds: 10, connectTimeoutSeconds: 5, userAgent: "tests"),
            options: options, logger: Logger(label: "tests"), now: now)
    }

    func copyFixture(_ name: String, as target: String? = nil) throws -> URL {
        let destination = directory.appendingPathComponent(target ?? name)
        try FileManager.default.copyItem(at: TestPaths.fixture(name), to: destination)
        return destination
    }

    func outcomes(_ results: [IngestResult]) -> [String] {
        results.map {
            switch $0.outcome {
            case .saved(.inserted, _): "new"
            case .saved(.updated, _): "updated"
            case .saved(.unchanged, _): "unchanged"
            case .saved(.duplicate, _): "duplicate"
            case .parsed: "parsed"
            case .failed(let error): "failed:\(error.kind.rawValue)"
            }
        }
    }

    @Test func samePageTwiceChangesNothing() async throws {
        let page = try copyFixture("labelled-basic.txt")
        let firstReading = Date(timeIntervalSince1970: 1_796_000_000)
        await #expect(outcomes(ingester(now: { firstReading }).ingest([page.path])) == ["new"])
        let before = try await store.comparison(id: 1)
        let again = await ingester(now: { firstReading.addingTimeInterval(3600) }).ingest([page.path])
        #expect(outcomes(again) == ["unchanged"])
        // What ingest reports is what the store kept: the page was first seen at the first reading.
        #expect(again.first?.comparison?.published == firstReading)
        await #expect(try store.comparison(id: 1) == before)
        await #expect(try store.listComparisons().count == 1)
    }

    @Test func changedPageIsUpdatedInPlace() async throws {
        let page = try copyFixture("labelled-basic.txt")
        // An hour between the two readings, so a published time taken from the second one shows.
        let firstReading = Date(timeIntervalSince1970: 1_796_000_000)
        _ = await ingester(now: { firstReading }).ingest([page.path])
        let original = try await #require(try store.comparison(id: 1))
        let text = try String(contentsOf: page, encoding: .utf8)
        try text.replacingOccurrences(of: "Driftnote", with: "Driftnote Pro").write(
            to: page, atomically: true, encoding: .utf8)
        let results = await ingester(now: { firstReading.addingTimeInterval(3600) }).ingest([page.path])
        guard case .saved(.updated(let id, let previousHash), let comparison) = results.first?.outcome else {
            Issue.record("expected an update, got \(outcomes(results))")
            return
        }
        #expect(id == 1 && previousHash == original.comparison.contentHash)
        let stored = try await #require(try store.comparison(id: 1))
        #expect(stored.comparison == comparison)
        #expect(stored.comparison.tools[0].name == "Driftnote Pro")
        #expect(stored.comparison.takes.count == original.comparison.takes.count)
        // First seen stays first seen; the page gives no date, so neither does the published time move.
        #expect(stored.firstSeenAt == original.firstSeenAt)
        #expect(stored.comparison.published == original.comparison.published)
        #expect(stored.comparison.published == firstReading)
        await #expect(try store.listComparisons().count == 1)
    }

    @Test func theSameComparisonFromTwoSourcesIsStoredOnce() async throws {
        let text = try copyFixture("labelled-basic.txt")
        let html = try copyFixture("labelled-basic.html")
        await #expect(outcomes(ingester().ingest([text.path, html.path])) == ["new", "duplicate"])
        await #expect(try store.listComparisons().count == 1)
    }

    @Test func aDirectoryIsSearchedForPagesOnly() async throws {
        let pages = directory.appendingPathComponent("pages/nested", isDirectory: true)
        try FileManager.default.createDirectory(at: pages, withIntermediateDirectories: true)
        _ = try copyFixture("labelled-basic.txt", as: "pages/a.txt")
        _ = try copyFixture("quoted-hard.txt", as: "pages/nested/b.txt")
        _ = try copyFixture("feed-rss.xml", as: "pages/feed.xml")
        try "# notes".write(to: directory.appendingPathComponent("pages/README.md"), atomically: true, encoding: .utf8)
        try "x".write(to: directory.appendingPathComponent("pages/.hidden.txt"), atomically: true, encoding: .utf8)
        let results = await ingester().ingest([directory.appendingPathComponent("pages").path])
        #expect(outcomes(results) == ["new", "new"])
        #expect(results.map { URL(fileURLWithPath: $0.source).lastPathComponent } == ["a.txt", "b.txt"])
    }

    @Test func aDirectoryThatIsASymbolicLinkIsSearchedToo() async throws {
        let pages = directory.appendingPathComponent("real-pages", isDirectory: true)
        try FileManager.default.createDirectory(at: pages, withIntermediateDirectories: true)
        _ = try copyFixture("labelled-basic.txt", as: "real-pages/a.txt")
        let link = directory.appendingPathComponent("pages")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: pages)
        let results = await ingester().ingest([link.path + "/"])
        #expect(outcomes(results) == ["new"])
    }

    @Test func badSourcesFailAloneAndTheRestIsStored() async throws {
        let good = try copyFixture("labelled-basic.txt")
        let truncated = try copyFixture("truncated.txt")
        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let huge = directory.appendingPathComponent("huge.txt")
        FileManager.default.createFile(atPath: huge.path, contents: nil)
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: 50 << 20)  // a sparse 50 MB file
        try handle.close()
        let sources = [
            truncated.path, empty.path, huge.path, directory.appendingPathComponent("absent.txt").path,
            "http://127.0.0.1:1/page.txt", "ftp://example.com/page.txt", good.path,
        ]
        let results = await ingester().ingest(sources)
        #expect(
            outcomes(results) == [
                "failed:truncated", "failed:empty", "failed:tooLarge", "failed:notFound", "failed:unreachable",
                "failed:unsupported", "new",
            ])
        for result in results.dropLast() {
            let error = try #require(result.error)
            #expect(error.description.contains(URL(fileURLWithPath: error.source).lastPathComponent))
        }
        #expect(results[2].error?.message.contains("50.0 MiB") == true)
        await #expect(try store.listComparisons().map(\.title) == ["Driftnote vs Cobaltline"])
    }

    @Test func dryRunStoresNothing() async throws {
        let page = try copyFixture("quoted-basic.txt")
        let results = await Ingester(
            store: AppDatabase?.none,
            fetcher: CurlFetcher(maxBytes: 1 << 20, timeoutSeconds: 5, connectTimeoutSeconds: 5, userAgent: "t"),
            options: IngestOptions(dryRun: true), logger: Logger(label: "t")
        ).ingest([page.path])
        #expect(outcomes(results) == ["parsed"])
        await #expect(try store.listComparisons().isEmpty)
    }

    @Test func rssFeedFromAFileGivesPublishedTimesAndReportsTheEntryWithoutALink() async throws {
        _ = try copyFixture("labelled-basic.txt")
        _ = try copyFixture("quoted-basic.txt")
        let feed = try copyFixture("feed-rss.xml")
        let results = await ingester().ingest([feed.path])
        #expect(outcomes(results) == ["new", "new", "failed:brokenFeed"])
        #expect(results[0].comparison?.publishedFrom == .feed)
        #expect(results[0].comparison?.published == PublishedDate.parse("2026-11-17T08:00:00Z"))
        let broken = try #require(results[2].error)
        #expect(broken.source == feed.path && broken.line != nil)
        #expect(broken.message.contains("Saltmarsh"))
    }

    @Test func atomFeedServedOverHTTP() async throws {
        for name in ["feed-atom.xml", "labelled-basic.html"] { _ = try copyFixture(name) }
        let server = try LocalHTTPServer(serving: directory)
        let feedURL = "\(server.baseURL)/feed-atom.xml"
        let results = await ingester().ingest([feedURL])
        #expect(outcomes(results) == ["new", "failed:httpStatus"])
        let page = try #require(results[0].comparison)
        #expect(page.source == "\(server.baseURL)/labelled-basic.html")
        #expect(page.markup == .html && page.publishedFrom == .feed)
        #expect(results[1].error?.message.contains("HTTP 404") == true)
        #expect(results[1].error?.message.contains("feed-atom.xml") == true)
        // Again: nothing changes.
        await #expect(outcomes(ingester().ingest([feedURL])) == ["unchanged", "failed:httpStatus"])
    }

    @Test func brokenFeedXMLNamesTheLine() async throws {
        let feed = directory.appendingPathComponent("broken.xml")
        try "<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel>\n<item><title>x</title>\n</channel></rss>\n"
            .write(to: feed, atomically: true, encoding: .utf8)
        let results = await ingester().ingest([feed.path])
        let error = try #require(results.first?.error)
        #expect(error.kind == .brokenFeed)
        #expect(error.line == 4)
    }

    @Test func pageOverHTTPIsLimitedInSize() async throws {
        _ = try copyFixture("labelled-basic.txt")
        let server = try LocalHTTPServer(serving: directory)
        let small = await ingester(IngestOptions(maxPageBytes: 2048)).ingest(["\(server.baseURL)/labelled-basic.txt"])
        #expect(outcomes(small) == ["failed:tooLarge"])
        let fits = await ingester().ingest(["\(server.baseURL)/labelled-basic.txt"])
        #expect(outcomes(fits) == ["new"])
        #expect(fits.first?.comparison?.url == "\(server.baseURL)/labelled-basic.txt")
    }

    @Test(.enabled(if: TestPaths.samplePages != nil, "../shared/sample-pages is not present"))
    func theSamplePagesDirectoryStoresFiveComparisons() async throws {
        let results = await ingester().ingest([TestPaths.samplePages!.path])
        #expect(outcomes(results) == Array(repeating: "new", count: 5))
        let stored = try await store.listComparisons()
        #expect(stored.count == 5)
        for summary in stored {
            let record = try await #require(try store.comparison(id: summary.id))
            #expect(record.comparison.tools.count == 2)
            #expect(record.comparison.takes.count == summary.takeCount)
        }
        await #expect(
            outcomes(ingester().ingest([TestPaths.samplePages!.path])) == Array(repeating: "unchanged", count: 5))
    }
}
