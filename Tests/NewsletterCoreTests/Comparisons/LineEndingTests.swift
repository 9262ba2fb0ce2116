import Foundation
import Logging
import NewsletterCore
import Testing

/// Pages saved on Windows (CRLF), on old Macs (CR) or pasted together (mixed), with or without a
/// UTF-8 byte-order mark, parse to the same record as their LF originals, in every layout.
struct LineEndingTests {
    let reader = ComparisonPageReader()

    enum Ending: String, CaseIterable, CustomTestStringConvertible {
        case crlf, cr, mixed, bomCRLF

        var testDescription: String { rawValue }

        func apply(_ bytes: [UInt8]) async -> [UInt8] {
            var out: [UInt8] = self == .bomCRLF ? [0xEF, 0xBB, 0xBF] : []
            var lineIndex = 0
            for byte in bytes {
                guard byte == 0x0A else {
                    out.append(byte)
                    continue
                }
                switch self {
                case .crlf, .bomCRLF: out += [0x0D, 0x0A]
                case .cr: out.append(0x0D)
                // Every ending in turn. A lone CR is always followed by a CRLF (or text), never
                // by an LF, which would make the two one CRLF.
                case .mixed: out += [[0x0D, 0x0A], [0x0A], [0x0D]][lineIndex % 3]
                }
                lineIndex += 1
            }
            return out
        }
    }

    /// The project's own pages in each layout and markup, and the real sample pages.
    static func pages() throws -> [URL] {
        let own = ["labelled-basic.txt", "quoted-basic.txt", "quoted-hard.txt", "labelled-basic.html"].map(
            TestPaths.fixture)
        let examples = try FileManager.default.contentsOfDirectory(
            at: TestPaths.examples, includingPropertiesForKeys: nil
        )
        .filter { ["txt", "html"].contains($0.pathExtension) }
        return (own + examples + (try TestPaths.samplePageFiles())).sorted { $0.path < $1.path }
    }

    /// The record without what depends on the bytes themselves (the hash of the page).
    func parsed(_ bytes: [UInt8], _ url: URL) throws -> Comparison {
        var comparison = try reader.read(
            bytes, source: url.path, firstSeen: Date(timeIntervalSince1970: 1_763_337_600))
        comparison.contentHash = ""
        return comparison
    }

    @Test(arguments: Ending.allCases)
    func everyPageParsesAsItsLFOriginal(_ ending: Ending) async throws {
        let pages = try Self.pages()
        #expect(pages.count >= 8)
        for url in pages {
            let original = try TestPaths.bytes(url)
            #expect(!original.contains(0x0D), "\(url.lastPathComponent) is not an LF original")
            let expected = try parsed(original, url)
            let variant = try parsed(await ending.apply(original), url)
            #expect(variant == expected, "\(url.lastPathComponent) with \(ending) endings")
        }
    }

    @Test func theLayoutsAreAllCovered() throws {
        let records = try Self.pages().map { try parsed(TestPaths.bytes($0), $0) }
        #expect(Set(records.map(\.layout)) == [.labelled, .quoted])
        #expect(Set(records.map(\.markup)) == [.text, .html])
    }

    @Test(arguments: Ending.allCases)
    func aTakeLineNumberCountsEveryKindOfEnding(_ ending: Ending) async throws {
        let url = TestPaths.fixture("labelled-basic.txt")
        let original = try TestPaths.bytes(url)
        let lines = try parsed(original, url).takes.map(\.line)
        await #expect(try parsed(ending.apply(original), url).takes.map(\.line) == lines)
    }

    @Test(arguments: Ending.allCases)
    func invalidUTF8IsReportedOnItsLine(_ ending: Ending) async throws {
        let bytes = await ending.apply(Array("Title\nsecond line\nthird ".utf8) + [0xFF] + Array(" rest\n".utf8))
        #expect {
            try reader.read(bytes, source: "bad.txt")
        } throws: { error in
            guard let error = error as? PageError else { return false }
            return error.kind == .invalidUTF8 && error.line == 3 && error.source == "bad.txt"
        }
    }

    func ingest(_ feed: URL) async -> [IngestResult] {
        let fetcher = CurlFetcher(maxBytes: 1 << 20, timeoutSeconds: 10, connectTimeoutSeconds: 5, userAgent: "tests")
        return await Ingester<CurlFetcher>(
            store: nil, fetcher: fetcher, options: IngestOptions(dryRun: true), logger: Logger(label: "tests")
        ).ingest([feed.path])
    }

    @Test(arguments: Ending.allCases)
    func aFeedWithOtherEndingsGivesTheSameEntries(_ ending: Ending) async throws {
        let directory = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for name in ["labelled-basic.txt", "quoted-basic.txt"] {
            try FileManager.default.copyItem(at: TestPaths.fixture(name), to: directory.appendingPathComponent(name))
        }
        let original = try TestPaths.bytes(TestPaths.fixture("feed-rss.xml"))
        let feed = directory.appendingPathComponent("feed.xml")
        try Data(await ending.apply(original)).write(to: feed)
        let results = await ingest(feed)
        let published = results.compactMap { $0.comparison.map { "\($0.title) \($0.published)" } }
        #expect(published.count == 2, "\(results.map { "\($0.outcome)" })")
        #expect(results.count == 3)
        #expect(results.last?.error?.kind == .brokenFeed)

        try Data(original).write(to: feed)
        let lf = await ingest(feed)
        #expect(lf.compactMap { $0.comparison.map { "\($0.title) \($0.published)" } } == published)
    }
}
