import Foundation

/// One entry of an Atom or RSS feed: a link to a comparison page and, when given, its time.
struct FeedEntry: Equatable, Sendable {
    var title: String?
    /// The link as the feed gives it (possibly relative), or nil when the entry has none;
    /// `Feed.resolve` makes it absolute and checks it is allowed.
    var link: String?
    var published: Date?
    var line: Int
}

/// Reads Atom 1.0 and RSS 2.0 feeds with libxml2.
enum Feed {
    static func entries(_ bytes: [UInt8], base: URL) throws(LayoutError) -> [FeedEntry] {
        let document = try LibXMLDocument.xml(bytes, url: base.absoluteString)
        guard let root = document.root else {
            throw LayoutError(kind: .brokenFeed, message: "the feed has no root element")
        }
        switch root.name {
        case "feed":
            return root.elements.filter { $0.name == "entry" }.map { atomEntry($0, base: base) }
        case "rss":
            guard let channel = root.firstElement(named: "channel") else {
                throw LayoutError(line: root.line, kind: .brokenFeed, message: "an RSS feed without a <channel>")
            }
            return channel.elements.filter { $0.name == "item" }.map { rssItem($0, base: base) }
        case "rdf":
            return root.elements.filter { $0.name == "item" }.map { rssItem($0, base: base) }
        default:
            throw LayoutError(
                line: root.line, kind: .brokenFeed,
                message: "<\(root.name)> is neither an Atom <feed> nor an RSS <rss> document")
        }
    }

    private static func atomEntry(_ entry: LibXMLNode, base: URL) -> FeedEntry {
        let links = entry.elements.filter { $0.name == "link" }
        let alternate = links.first { ($0.attribute("rel") ?? "alternate") == "alternate" } ?? links.first
        let time = entry.firstElement(named: "published") ?? entry.firstElement(named: "updated")
        return FeedEntry(
            title: entry.firstElement(named: "title").map { PageText.normalizeSpaces($0.text) },
            link: alternate?.attribute("href"),
            published: time.flatMap { PublishedDate.parse($0.text) },
            line: entry.line)
    }

    private static func rssItem(_ item: LibXMLNode, base: URL) -> FeedEntry {
        var link = item.firstElement(named: "link").map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        if link?.isEmpty ?? true, let guid = item.firstElement(named: "guid"),
            guid.attribute("isPermaLink") != "false"
        {
            link = guid.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let time = item.firstElement(named: "pubdate") ?? item.firstElement(named: "date")
        return FeedEntry(
            title: item.firstElement(named: "title").map { PageText.normalizeSpaces($0.text) },
            link: link.flatMap { $0.isEmpty ? nil : $0 },
            published: time.flatMap { PublishedDate.parse($0.text) },
            line: item.line)
    }

    /// An entry's link, made absolute. A feed on the web may link only to the web; a feed file
    /// may also link to files, but only below its own directory, so that no feed can make
    /// `ingest` read (and store, and quote in errors) any other local file.
    static func resolve(_ href: String, against base: URL) -> String? {
        let trimmed = href.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let url = URL(string: trimmed, relativeTo: base)?.absoluteURL, let scheme = url.scheme?.lowercased()
        else {
            return nil
        }
        if scheme == "http" || scheme == "https" { return url.absoluteString }
        guard scheme == "file", base.isFileURL else { return nil }
        let directory = base.deletingLastPathComponent().standardizedFileURL.path
        let path = url.standardizedFileURL.path
        return path.hasPrefix(directory.hasSuffix("/") ? directory : directory + "/") ? path : nil
    }
}
