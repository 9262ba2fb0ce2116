import Foundation

/// One published comparison page: two AI tools and the reviewer panel's takes on each.
///
/// This is the record `ingest` stores and `ingest --dry-run --json` prints; its coding keys are
/// the public JSON field names.
public struct Comparison: Codable, Sendable, Equatable {
    public var title: String
    /// The two tools, in page order.
    public var tools: [Tool]
    /// Every take found on the page, in page order.
    public var takes: [Take]
    /// Panel slots the page marks "No panel take" (labelled layout only; the quoted layout
    /// leaves missing takes out, so nothing can be said about them).
    public var missingTakes: [TakeSlot]
    /// Where the page came from: a file path or a URL.
    public var source: String
    /// The page's canonical address when it names one (HTML `<link rel="canonical">`, a feed
    /// entry's link, or the URL it was fetched from).
    public var url: String?
    /// Lowercase hex SHA-256 of the page's bytes.
    public var contentHash: String
    public var published: Date
    public var publishedFrom: PublishedTimeSource
    public var layout: PageLayout
    public var markup: PageMarkup

    public init(
        title: String, tools: [Tool], takes: [Take], missingTakes: [TakeSlot], source: String,
        url: String?, contentHash: String, published: Date, publishedFrom: PublishedTimeSource,
        layout: PageLayout, markup: PageMarkup
    ) {
        self.title = title
        self.tools = tools
        self.takes = takes
        self.missingTakes = missingTakes
        self.source = source
        self.url = url
        self.contentHash = contentHash
        self.published = published
        self.publishedFrom = publishedFrom
        self.layout = layout
        self.markup = markup
    }
}

extension Comparison {
    /// A hash of what the page says (title, tools, takes), whatever its markup or source: an
    /// HTML page and its text dump, or one page at two addresses, share it.
    public var recordHash: String {
        struct Canonical: Encodable {
            var title: String
            var tools: [Tool]
            var takes: [Take]
            var missingTakes: [TakeSlot]
        }
        let takes = self.takes.map { take -> Take in
            var take = take
            take.line = nil
            return take
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data =
            (try? encoder.encode(Canonical(title: title, tools: tools, takes: takes, missingTakes: missingTakes)))
            ?? Data()
        return ComparisonPageReader.contentHash([UInt8](data))
    }
}

public struct Tool: Codable, Sendable, Equatable {
    public var name: String
    public var tagline: String
    public var category: String?
    public var description: String
    /// The panel's ship share, 0–100, as the page prints it.
    public var panelShipPercent: Int?
    /// The page's overall panel label for this tool ("Ship" or "Skip"), when it prints one.
    public var panelVerdict: Verdict?
    public var shipVotes: Int?
    public var skipVotes: Int?
    /// The pricing line of the page's Decision block, e.g. "Free (open weights)".
    public var pricing: String?
    /// The entry tier printed beside the tool, e.g. "Free" or "Paid".
    public var entry: String?

    public init(
        name: String, tagline: String, category: String?, description: String,
        panelShipPercent: Int?, panelVerdict: Verdict?, shipVotes: Int?, skipVotes: Int?,
        pricing: String?, entry: String?
    ) {
        self.name = name
        self.tagline = tagline
        self.category = category
        self.description = description
        self.panelShipPercent = panelShipPercent
        self.panelVerdict = panelVerdict
        self.shipVotes = shipVotes
        self.skipVotes = skipVotes
        self.pricing = pricing
        self.entry = entry
    }
}

public struct Take: Codable, Sendable, Equatable {
    /// The name of the tool the take is about (one of the comparison's `tools[].name`).
    public var tool: String
    public var role: ReviewerRole
    public var score: Int?
    public var verdict: Verdict?
    public var text: String
    /// True where the layout does not say the role and it was inferred from the text.
    public var roleInferred: Bool
    /// True where the layout does not say the tool and it was inferred from the text.
    public var toolInferred: Bool
    /// The line of the page the take starts on (in the HTML source for HTML pages).
    public var line: Int?

    public init(
        tool: String, role: ReviewerRole, score: Int?, verdict: Verdict?, text: String,
        roleInferred: Bool, toolInferred: Bool, line: Int?
    ) {
        self.tool = tool
        self.role = role
        self.score = score
        self.verdict = verdict
        self.text = text
        self.roleInferred = roleInferred
        self.toolInferred = toolInferred
        self.line = line
    }
}

public struct TakeSlot: Codable, Sendable, Equatable, Hashable {
    public var tool: String
    public var role: ReviewerRole

    public init(tool: String, role: ReviewerRole) {
        self.tool = tool
        self.role = role
    }
}

/// The five reviewers of the panel, in the order the site lists them.
public enum ReviewerRole: String, Codable, Sendable, CaseIterable, Hashable {
    case builder = "Builder"
    case skeptic = "Skeptic"
    case futurist = "Futurist"
    case founder = "Founder"
    case pm = "PM"
}

public enum Verdict: String, Codable, Sendable, Hashable {
    case ship
    case skip
}

/// How a page arranges the panel's takes.
public enum PageLayout: String, Codable, Sendable, CaseIterable {
    /// A Decision block, and a role heading above each pair of scored takes.
    case labelled
    /// Takes as bare “curly-quoted” paragraphs: role and tool are inferred.
    case quoted
}

/// What the page's bytes are.
public enum PageMarkup: String, Codable, Sendable {
    /// A plain-text dump of the rendered page.
    case text
    /// The HTML page itself, read through its block structure.
    case html
}

/// Where a comparison's published time came from, most authoritative first.
public enum PublishedTimeSource: String, Codable, Sendable {
    case page
    case feed
    case option
    case firstSeen
}
