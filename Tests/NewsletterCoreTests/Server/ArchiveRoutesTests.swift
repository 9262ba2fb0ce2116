import Foundation
import FoundationXML
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import NewsletterCore

/// The public archive through `app.test(.router)` on a real store and the project's templates:
/// only sent issues, newest first, neutral text where each subscriber had their own, an Atom
/// feed with absolute links, and the static build writing the same bytes.
@Suite(.serialized)
struct ArchiveRoutesTests {
    let directory: URL
    let store: AppDatabase
    var settings = IssueSettings()
    let weeks = ["2026-W46", "2026-W47", "2026-W48"].map { try! IssueWeek(parsing: $0) }

    init() async throws {
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("n.sqlite").path)
        settings.publicURL = "https://news.example.org"
        settings.listName = "Ship <or> Skip"
        // W46 and W47 sent, W48 only a draft.
        let published = ["2026-11-10T10:00:00Z", "2026-11-17T10:00:00Z", "2026-11-24T10:00:00Z"]
        for (index, week) in weeks.enumerated() {
            var comparison = try StoreFixtures.comparison(
                "Tool\(index) vs <Other\(index)>", published: published[index])
            comparison.url = "https://site.example/compare/\(index)"
            _ = try await store.saveComparison(comparison)
            let draft = try await IssuePreview(
                store: store, templates: Self.templates, settings: settings,
                outboxDirectory: directory.appendingPathComponent("outbox").path
            ).preview(week).draft
            if index < 2 {
                try await store.approve(week, hash: draft.hash, at: Date())
                try await store.markSent(week, at: PublishedDate.parse(published[index])!.addingTimeInterval(6 * 86400))
            }
        }
    }

    static let templates = try! TemplateSet.load(
        directory: TestPaths.repository.appendingPathComponent("templates").path)

    var archive: ArchivePages { ArchivePages(templates: Self.templates, settings: settings) }

    func app() throws -> some ApplicationProtocol {
        try TestServer.app(store: store, outbox: directory.appendingPathComponent("outbox")) { $0.issue = settings }
    }

    func get(_ client: some TestClientProtocol, _ uri: String) async throws -> (HTTPResponse.Status, HTTPFields, String)
    {
        try await client.execute(uri: uri, method: .get) { ($0.status, $0.headers, String(buffer: $0.body)) }
    }

    @Test func theListShowsSentIssuesNewestFirstAndNeverADraft() async throws {
        try await app().test(.router) { client in
            let (status, headers, body) = try await get(client, "/archive")
            #expect(status == .ok)
            #expect(headers[.contentType] == "text/html; charset=utf-8")
            let w47 = try #require(body.range(of: "https://news.example.org/archive/2026-W47"))
            let w46 = try #require(body.range(of: "https://news.example.org/archive/2026-W46"))
            #expect(w47.lowerBound < w46.lowerBound)
            #expect(!body.contains("2026-W48"))
            // Page text and settings are escaped.
            #expect(body.contains("Tool1 vs &lt;Other1&gt;") && !body.contains("<Other1>"))
            #expect(body.contains("Ship &lt;or&gt; Skip") && !body.contains("Ship <or> Skip"))
            #expect(!body.contains("noindex"))
        }
    }

    @Test func anIssuePageIsTheIssueAsSentWithNeutralTextInsteadOfTheSubscribersOwn() async throws {
        let sent = try await #require(try store.issue(weeks[1])?.html)
        try await app().test(.router) { client in
            let (status, _, body) = try await get(client, "/archive/2026-W47")
            #expect(status == .ok)
            #expect(!body.contains("%%"))
            #expect(!body.contains("Hi ") && !body.contains("Sam Sample"))
            #expect(body.contains("From the Ship &lt;or&gt; Skip archive: the issue as it was sent on 2026-11-23."))
            #expect(!body.contains("/unsubscribe/") && !body.contains("/preferences/"))
            #expect(body.contains("href=\"https://news.example.org/\"") && body.contains(">Subscribe</a>"))
            #expect(!body.contains(">Unsubscribe</a>") && !body.contains("because you subscribed"))
            // Everything else is the sent bytes.
            let before = try #require(sent.range(of: Placeholder.greeting.rawValue)).lowerBound
            #expect(body.hasPrefix(String(sent[..<before])))
            for missing in ["/archive/2026-W48", "/archive/2026-W45", "/archive/not-a-week"] {
                let (status, _, _) = try await get(client, missing)
                #expect(status == .notFound, "\(missing)")
            }
        }
    }

    @Test func theArchivePagesCarryTheSameSecurityHeadersAsEveryOtherPage() async throws {
        let expected = PageRenderer.headers(contentType: "x")
        try await app().test(.router) { client in
            for uri in ["/archive", "/archive/2026-W47", "/archive/feed.xml"] {
                let (_, headers, _) = try await get(client, uri)
                for name in ["Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Cache-Control"] {
                    let field = HTTPField.Name(name)!
                    #expect(headers[field] == expected[field], "\(uri) \(name)")
                }
            }
        }
    }

    @Test func aHiddenIssueLeavesTheListThePageAndTheFeed() async throws {
        await #expect(try store.setHiddenFromArchive(weeks[1], hidden: true))
        await #expect(
            try !store.setHiddenFromArchive(weeks[2], hidden: true), "a draft cannot be hidden: it is not there")
        try await app().test(.router) { client in
            let page = try await get(client, "/archive/2026-W47").0
            let list = try await get(client, "/archive").2
            let feed = try await get(client, "/archive/feed.xml").2
            #expect(page == .notFound)
            #expect(!list.contains("2026-W47"))
            #expect(!feed.contains("2026-W47"))
        }
        await #expect(try store.setHiddenFromArchive(weeks[1], hidden: false))
        await #expect(archive.issuePage(weeks[1], in: try store.sentIssues()) != nil)
    }

    /// The archive of a store whose full list cannot be read: an issue page must not need it.
    struct ListUnreadableStore: ArchiveStore {
        struct ListRead: Error {}
        let store: AppDatabase
        func sentIssues() async throws -> [IssueRecord] { throw ListRead() }
        func sentIssue(_ week: IssueWeek) async throws -> IssueRecord? { try await store.sentIssue(week) }
        func setHiddenFromArchive(_ week: IssueWeek, hidden: Bool) async throws -> Bool { false }
    }

    @Test func anIssuePageReadsThatIssueAloneNotTheWholeArchive() async throws {
        let router = Router()
        ArchiveRoutes(
            store: ListUnreadableStore(store: store), archive: archive,
            pages: PageRenderer(templates: Self.templates, settings: settings)
        ).register(on: router)
        try await Application(router: router).test(.router) { client in
            let (status, _, body) = try await get(client, "/archive/2026-W47")
            #expect(status == .ok)
            await #expect(body == archive.issuePage(weeks[1], in: try store.sentIssues()))
            #expect(try await get(client, "/archive/2026-W48").0 == .notFound, "a draft has no page")
        }
    }

    /// The Atom elements RFC 4287 requires, read with an XML parser.
    @Test func theFeedIsAtomWithItsRequiredElementsAndAbsoluteLinks() async throws {
        let body = try await app().test(.router) { client in
            let (status, headers, body) = try await get(client, "/archive/feed.xml")
            #expect(status == .ok)
            #expect(headers[.contentType] == "application/atom+xml; charset=utf-8")
            return body
        }
        let feed = try AtomOutline.parse(body)
        #expect(feed.namespace == "http://www.w3.org/2005/Atom")
        #expect(feed.id == "https://news.example.org/archive" && feed.title == "Ship <or> Skip")
        #expect(feed.updated == "2026-11-23T10:00:00Z" && feed.hasAuthor)
        #expect(feed.links.contains("https://news.example.org/archive/feed.xml"))
        #expect(feed.entries.map(\.id) == ["2026-W47", "2026-W46"].map { "https://news.example.org/archive/\($0)" })
        for entry in feed.entries {
            #expect(!entry.title.isEmpty && !entry.updated.isEmpty)
            #expect(entry.link == entry.id)
        }
    }

    @Test(.enabled(if: AiosmtpdServer.python != nil, "the test peers' Python (scripts/setup-test-peers.sh) is missing"))
    func feedparserReadsTheFeedWithoutComplaint() async throws {
        let body = await archive.feed(try store.sentIssues())
        let process = Process()
        process.executableURL = URL(fileURLWithPath: AiosmtpdServer.python!)
        process.arguments = [
            "-c",
            """
            import json, sys, feedparser
            d = feedparser.parse(sys.stdin.buffer.read())
            print(json.dumps({"bozo": bool(d.bozo), "version": d.version, "title": d.feed.get("title"),
                              "links": [e.link for e in d.entries], "updated": [e.get("updated") for e in d.entries]}))
            """,
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(body.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let result = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(result["bozo"] as? Bool == false)
        #expect(result["version"] as? String == "atom10")
        #expect(result["title"] as? String == "Ship <or> Skip")
        #expect(
            result["links"] as? [String] == ["2026-W47", "2026-W46"].map { "https://news.example.org/archive/\($0)" })
    }

    @Test func theStaticBuildWritesTheSamePagesAndDropsAHiddenOne() async throws {
        let out = directory.appendingPathComponent("site")
        let issues = try await store.sentIssues()
        _ = try archive.build(into: out.path, issues: issues)
        func read(_ name: String) throws -> String {
            try String(contentsOf: out.appendingPathComponent(name), encoding: .utf8)
        }
        #expect(try read("index.html") == archive.index(issues))
        #expect(try read("feed.xml") == archive.feed(issues))
        #expect(try read("2026-W47/index.html") == archive.issuePage(weeks[1], in: issues))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("2026-W48").path))
        _ = try await store.setHiddenFromArchive(weeks[0], hidden: true)
        _ = try archive.build(into: out.path, issues: try await store.sentIssues())
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("2026-W46").path))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("2026-W47/index.html").path))
    }
}

/// What an Atom feed says, by its elements (RFC 4287 section 4.1).
struct AtomOutline {
    struct Entry {
        var id = ""
        var title = ""
        var updated = ""
        var link = ""
    }

    var namespace = ""
    var id = ""
    var title = ""
    var updated = ""
    var hasAuthor = false
    var links: [String] = []
    var entries: [Entry] = []

    struct Malformed: Error { var line: Int }

    static func parse(_ text: String) throws -> AtomOutline {
        final class Reader: NSObject, XMLParserDelegate {
            var outline = AtomOutline()
            var path: [String] = []
            var text = ""

            func parser(
                _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]
            ) {
                if path.isEmpty { outline.namespace = attributes["xmlns"] ?? namespaceURI ?? "" }
                path.append(name)
                text = ""
                if name == "entry" { outline.entries.append(Entry()) }
                if name == "author" && path.count == 2 { outline.hasAuthor = true }
                if name == "link", let href = attributes["href"] {
                    if path.count == 2 {
                        outline.links.append(href)
                    } else {
                        outline.entries[outline.entries.count - 1].link = href
                    }
                }
            }

            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

            func parser(
                _ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?
            ) {
                let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if path.count == 2 {
                    switch name {
                    case "id": outline.id = value
                    case "title": outline.title = value
                    case "updated": outline.updated = value
                    default: break
                    }
                } else if path.count == 3 && path[1] == "entry" {
                    switch name {
                    case "id": outline.entries[outline.entries.count - 1].id = value
                    case "title": outline.entries[outline.entries.count - 1].title = value
                    case "updated": outline.entries[outline.entries.count - 1].updated = value
                    default: break
                    }
                }
                path.removeLast()
                text = ""
            }
        }
        let parser = XMLParser(data: Data(text.utf8))
        let reader = Reader()
        parser.delegate = reader
        guard parser.parse() else { throw Malformed(line: parser.lineNumber) }
        return reader.outline
    }
}
