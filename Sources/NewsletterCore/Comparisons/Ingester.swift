import Foundation
import Logging

/// How `ingest` reads its sources.
public struct IngestOptions: Sendable {
    public var format: SourceFormat = .auto
    /// `--published`: the time for pages that give none themselves.
    public var publishedFallback: Date?
    /// Parse only; store nothing.
    public var dryRun = false
    public var maxPageBytes: Int = 5 << 20

    public init(
        format: SourceFormat = .auto, publishedFallback: Date? = nil, dryRun: Bool = false, maxPageBytes: Int = 5 << 20
    ) {
        self.format = format
        self.publishedFallback = publishedFallback
        self.dryRun = dryRun
        self.maxPageBytes = maxPageBytes
    }
}

/// What became of one page.
public struct IngestResult: Sendable {
    public enum Outcome: Sendable {
        case saved(SaveOutcome, Comparison)
        /// A dry run: parsed, not stored.
        case parsed(Comparison)
        case failed(PageError)
    }

    public var source: String
    public var outcome: Outcome

    public var comparison: Comparison? {
        switch outcome {
        case .saved(_, let comparison), .parsed(let comparison): comparison
        case .failed: nil
        }
    }

    public var error: PageError? {
        if case .failed(let error) = outcome { return error }
        return nil
    }
}

/// Hears about ingest progress as it happens (a terminal progress bar, or log lines).
public protocol IngestObserver: Sendable {
    /// More pages became known: the sources at the start, then each feed's entries.
    func discovered(_ count: Int)
    func finished(_ result: IngestResult)
}

/// Reads files, directories, URLs and feeds into the store, one page at a time. A source that
/// fails is reported and the rest go on; each page is stored in its own transaction, so the
/// store never holds half a record.
public struct Ingester<Fetcher: ResourceFetching>: Sendable {
    public var store: (any ComparisonStore)?
    public var fetcher: Fetcher
    public var options: IngestOptions
    public var logger: Logger
    /// When a page without a date of its own counts as first seen; tests inject it.
    public var now: @Sendable () -> Date

    /// File endings a directory is searched for: pages only, so that a directory's README or a
    /// feed beside its pages is not read twice. A file named on the command line is read
    /// whatever its name.
    public static var directoryExtensions: Set<String> { ["txt", "html", "htm"] }

    /// - Parameter store: nil only for a dry run.
    public init(
        store: (any ComparisonStore)?, fetcher: Fetcher, options: IngestOptions, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        precondition(store != nil || options.dryRun, "a store is needed unless this is a dry run")
        self.store = store
        self.fetcher = fetcher
        self.options = options
        self.logger = logger
        self.now = now
    }

    public func ingest(_ sources: [String], observer: (any IngestObserver)? = nil) async -> [IngestResult] {
        var results: [IngestResult] = []
        var planned: [Planned] = []
        for source in sources { planned.append(contentsOf: plan(source)) }
        observer?.discovered(planned.count)
        func record(_ result: IngestResult) {
            results.append(result)
            observer?.finished(result)
        }
        for item in planned {
            switch item {
            case .failed(let error):
                record(IngestResult(source: error.source, outcome: .failed(error)))
            case .location(let location):
                do {
                    let loaded = try load(location)
                    if options.format == .feed
                        || (options.format == .auto && ComparisonPageReader.looksLikeFeed(loaded.bytes))
                    {
                        await ingestFeed(loaded, observer: observer, record: record)
                    } else {
                        record(await ingestPage(loaded, feedPublished: nil))
                    }
                } catch {
                    record(IngestResult(source: error.source, outcome: .failed(error)))
                }
            }
        }
        return results
    }

    // MARK: Sources

    private enum Location {
        case file(String)
        case url(String)

        var name: String {
            switch self {
            case .file(let path): path
            case .url(let url): url
            }
        }
    }

    private enum Planned {
        case location(Location)
        case failed(PageError)
    }

    private struct Loaded {
        var source: String
        var bytes: [UInt8]
        /// The page's address on the web, for http(s) sources.
        var url: String?
        /// What relative links inside (feed entries) are resolved against.
        var base: URL
    }

    private func plan(_ source: String) -> [Planned] {
        let lowered = source.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") { return [.location(.url(source))] }
        if lowered.contains("://") {
            return [
                .failed(
                    PageError(
                        source: source, kind: .unsupported,
                        message: "only files, directories and http(s) URLs can be ingested"))
            ]
        }
        let path = URL(fileURLWithPath: source).standardized.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return [.failed(PageError(source: source, kind: .notFound, message: "no such file or directory"))]
        }
        guard isDirectory.boolValue else { return [.location(.file(path))] }
        let files = Self.pageFiles(under: path)
        if files.isEmpty {
            logger.warning("directory holds no pages", metadata: ["source": "\(source)"])
        }
        return files.map { .location(.file($0)) }
    }

    /// Page files below a directory, in name order; hidden files are skipped.
    static func pageFiles(under directory: String) -> [String] {
        // The enumerator does not descend into a root that is a symbolic link: resolve it first.
        let root = URL(fileURLWithPath: directory).resolvingSymlinksInPath()
        guard
            let enumerator = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
        else { return [] }
        var files: [String] = []
        for case let url as URL in enumerator
        where directoryExtensions.contains(url.pathExtension.lowercased())
            && (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true
        {
            files.append(url.standardized.path)
        }
        return files.sorted()
    }

    private func load(_ location: Location) throws(PageError) -> Loaded {
        switch location {
        case .url(let url):
            let resource = try fetcher.fetch(url)
            return Loaded(
                source: url, bytes: resource.body, url: resource.effectiveURL,
                base: URL(string: resource.effectiveURL) ?? URL(string: url)!)
        case .file(let path):
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw PageError(source: path, kind: .notFound, message: "no such file")
            }
            let type = (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType)
            guard !isDirectory.boolValue, type == .typeRegular else {
                throw PageError(
                    source: path, kind: .unsupported, message: "not a regular file (a directory, device or pipe)")
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard size <= options.maxPageBytes else {
                throw PageError(
                    source: path, kind: .tooLarge,
                    message:
                        "the file is \(ByteCount(size)), over the \(ByteCount(options.maxPageBytes)) limit for a page (ingest.max_page_bytes)"
                )
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PageError(source: path, kind: .notFound, message: "cannot read the file (permissions?)")
            }
            return Loaded(source: path, bytes: [UInt8](data), url: nil, base: URL(fileURLWithPath: path))
        }
    }

    // MARK: Pages and feeds

    private func ingestPage(_ loaded: Loaded, feedPublished: Date?, feedLink: String? = nil) async -> IngestResult {
        let reader = ComparisonPageReader(
            format: options.format == .feed ? .auto : options.format, publishedFallback: options.publishedFallback)
        let comparison: Comparison
        do {
            comparison = try reader.read(
                loaded.bytes, source: loaded.source, url: loaded.url ?? feedLink, feedPublished: feedPublished,
                firstSeen: now())
        } catch {
            return IngestResult(source: loaded.source, outcome: .failed(error))
        }
        guard let store, !options.dryRun else {
            return IngestResult(source: loaded.source, outcome: .parsed(comparison))
        }
        do {
            let saved = try await store.saveComparison(comparison)
            // The page is stored: a failed read-back only leaves this reading's time in the report.
            return await IngestResult(
                source: loaded.source,
                outcome: .saved(saved, (try? Self.asStored(comparison, saved, in: store)) ?? comparison))
        } catch {
            return IngestResult(
                source: loaded.source,
                outcome: .failed(
                    PageError(
                        source: loaded.source, kind: .storeFailed, message: "could not store the comparison: \(error)"))
            )
        }
    }

    /// A page that gives no date keeps the time it was first seen, which the store has, not the
    /// time of this reading: what ingest reports is what was stored.
    private static func asStored(_ comparison: Comparison, _ saved: SaveOutcome, in store: any ComparisonStore) async throws
        -> Comparison
    {
        guard comparison.publishedFrom == .firstSeen else { return comparison }
        switch saved {
        case .updated(let id, _), .unchanged(let id):
            guard let stored = try await store.comparison(id: id) else { return comparison }
            var kept = comparison
            kept.published = stored.comparison.published
            kept.publishedFrom = stored.comparison.publishedFrom
            return kept
        case .inserted, .duplicate:
            return comparison
        }
    }

    private func ingestFeed(_ feed: Loaded, observer: (any IngestObserver)?, record: (IngestResult) -> Void) async {
        let entries: [FeedEntry]
        do {
            entries = try Feed.entries(feed.bytes, base: feed.base)
        } catch {
            record(IngestResult(source: feed.source, outcome: .failed(error.at(feed.source))))
            return
        }
        if entries.isEmpty {
            record(
                IngestResult(
                    source: feed.source,
                    outcome: .failed(
                        PageError(source: feed.source, kind: .brokenFeed, message: "the feed has no entries"))))
            return
        }
        // The feed itself counted as one planned item; its entries replace it.
        observer?.discovered(entries.count - 1)
        for entry in entries {
            func brokenEntry(_ message: String) {
                let error = PageError(source: feed.source, line: entry.line, kind: .brokenFeed, message: message)
                record(IngestResult(source: feed.source, outcome: .failed(error)))
            }
            guard let href = entry.link else {
                brokenEntry("the entry \(entry.title.map { "\"\($0)\"" } ?? "without a title") has no link to a page")
                continue
            }
            guard let link = Feed.resolve(href, against: feed.base) else {
                brokenEntry(
                    "the entry links to \"\(href)\", which a feed may not: a feed on the web may link only to http(s) pages, a feed file also to files below its own directory"
                )
                continue
            }
            let location: Location = link.hasPrefix("/") ? .file(link) : .url(link)
            do {
                let page = try load(location)
                var result = await ingestPage(
                    page, feedPublished: entry.published, feedLink: link.hasPrefix("/") ? nil : link)
                if case .failed(var error) = result.outcome {
                    error.message += " (linked from \(feed.source), line \(entry.line))"
                    result.outcome = .failed(error)
                }
                record(result)
            } catch {
                var error = error
                error.message += " (linked from \(feed.source), line \(entry.line))"
                record(IngestResult(source: error.source, outcome: .failed(error)))
            }
        }
    }
}
