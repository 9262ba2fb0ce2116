import Foundation

/// What `--format` can force; by default each source's format is detected from its bytes.
public enum SourceFormat: String, Sendable, CaseIterable, Codable {
    case auto
    /// A text dump in the labelled layout.
    case labelled
    /// A text dump in the quoted layout.
    case quoted
    /// An HTML page (either layout inside).
    case html
    /// An Atom or RSS feed whose entries link to pages.
    case feed
}

/// Turns one page's bytes into a `Comparison`: checks the bytes are text, reads HTML through its
/// block structure, parses either layout, and settles the published time.
public struct ComparisonPageReader: Sendable {
    public var format: SourceFormat
    /// `--published`: used when neither the page nor its feed entry gives a time.
    public var publishedFallback: Date?

    public init(format: SourceFormat = .auto, publishedFallback: Date? = nil) {
        self.format = format
        self.publishedFallback = publishedFallback
    }

    /// - Parameters:
    ///   - url: the address the page was fetched from, or its feed entry's link.
    ///   - feedPublished: the feed entry's published time, when the page came through a feed.
    ///   - firstSeen: the time to record when nothing else gives one.
    public func read(
        _ bytes: [UInt8], source: String, url: String? = nil, feedPublished: Date? = nil, firstSeen: Date = Date()
    ) throws(PageError) -> Comparison {
        do {
            let text = try PageText.decode(bytes)
            let markup: PageMarkup
            switch format {
            case .html: markup = .html
            case .labelled, .quoted: markup = .text
            case .auto, .feed: markup = Self.looksLikeHTML(text) ? .html : .text
            }
            let parser = ComparisonPageParser(layout: PageLayout(rawValue: format.rawValue))
            var page: ParsedPage
            var canonicalURL = url
            switch markup {
            case .html:
                // The decoded text, not the raw bytes: the same line endings, no BOM.
                let html = try HTMLPage.read(Array(text.utf8), url: url)
                page = try parser.parse(html.lines, fallbackTitle: html.title)
                page.published = html.published ?? page.published
                canonicalURL = html.canonicalURL ?? url
            case .text:
                page = try parser.parse(PageText.lines(of: text))
            }
            // Whole seconds: what the store keeps, so a record reads back equal to what was parsed.
            let firstSeen = Date(timeIntervalSince1970: firstSeen.timeIntervalSince1970.rounded(.down))
            let (published, from) = settlePublished(page: page.published, feed: feedPublished, firstSeen: firstSeen)
            return Comparison(
                title: page.title, tools: page.tools, takes: page.takes, missingTakes: page.missingTakes,
                source: source, url: canonicalURL, contentHash: Self.contentHash(bytes), published: published,
                publishedFrom: from, layout: page.layout, markup: markup)
        } catch {
            throw error.at(source)
        }
    }

    private func settlePublished(page: Date?, feed: Date?, firstSeen: Date) -> (Date, PublishedTimeSource) {
        if let page { return (page, .page) }
        if let feed { return (feed, .feed) }
        if let publishedFallback { return (publishedFallback, .option) }
        return (firstSeen, .firstSeen)
    }

    public static func contentHash(_ bytes: [UInt8]) -> String {
        Hex.sha256(bytes)
    }

    static func looksLikeHTML(_ text: String) -> Bool {
        let start = text.prefix(2048).drop { $0.isWhitespace }.lowercased()
        guard start.hasPrefix("<") else { return false }
        return start.contains("<html") || start.contains("<!doctype html") || start.contains("<body")
            || start.contains("<head")
    }

    static func looksLikeFeed(_ bytes: [UInt8]) -> Bool {
        let start = String(decoding: bytes.prefix(1024), as: UTF8.self).lowercased()
        return start.contains("<rss") || start.contains("<feed") || start.contains("<rdf:rdf")
    }
}
