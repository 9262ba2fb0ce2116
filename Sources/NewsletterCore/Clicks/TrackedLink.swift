import Foundation

/// `tracking.clicks`: what a reader's click on a link of an issue tells the publisher.
public enum ClickTracking: String, Sendable, Equatable, CaseIterable {
    /// Each link goes through `/r/{id}`; clicks are counted per link, nothing about the reader.
    case aggregate
    /// As `aggregate`, and each copy's links carry the reader's own token: counted per reader too.
    case perReader = "per-reader"
    /// Plain links: nothing is counted.
    case off
}

/// One link of a frozen draft, as `/r/{id}` redirects it.
public struct TrackedLink: Sendable, Equatable, Codable {
    /// Short and random (`TrackedLink.newID`): it says nothing about the issue or the reader.
    public var id: String
    public var week: IssueWeek
    /// The variant (`IssueVariant.id`) whose HTML or text holds the link.
    public var variant: String
    /// The comparison the link points to, when it is one's.
    public var comparisonID: Int64?
    /// Where the redirect goes: an http(s) URL without control characters (checked at freeze).
    public var target: String

    public init(id: String, week: IssueWeek, variant: String, comparisonID: Int64?, target: String) {
        self.id = id
        self.week = week
        self.variant = variant
        self.comparisonID = comparisonID
        self.target = target
    }

    /// 12 characters of lower-case base32: 60 bits from the system's CSPRNG, so ids cannot be
    /// guessed or enumerated.
    static func newID() -> String {
        Base32.lowercase(RandomBytes.make(8))
    }

    static let idLength = 12
    private static let alphabetBytes = Set(String(Base32.alphabet).utf8)

    /// Whether `text` has the shape of an id: anything else is refused before the store is asked.
    static func isWellFormedID(_ text: Substring) -> Bool {
        text.utf8.count == idLength && text.utf8.allSatisfy { alphabetBytes.contains($0) }
    }

    /// A target the redirect may send a browser to: http(s) with a host, nothing that could end
    /// a header line or hide in one (control characters, white space, bytes past ASCII, which a
    /// header may not carry raw), at most 2,000 bytes.
    static func isRedirectable(_ target: String) -> Bool {
        guard target.utf8.count <= 2000,
            !target.utf8.contains(where: { $0 < 0x21 || $0 >= 0x7F }),
            let url = URL(string: target), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", url.host?.isEmpty == false
        else { return false }
        return true
    }
}

/// A link's clicks as the store holds them, for the report.
public struct LinkClicks: Sendable, Equatable {
    public var link: TrackedLink
    /// Clicks that looked like a person's.
    public var clicks: Int64
    /// Clicks that looked like a link scanner's (`ScannerRule`).
    public var scannerClicks: Int64
    /// Distinct readers who clicked (a person's click), under `per-reader` only; else 0.
    public var readers: Int64
}

/// Clicks to add to one link (and, under `per-reader`, to one reader's count of it).
public struct ClickCount: Sendable, Equatable, Hashable {
    public var linkID: String
    public var subscriberID: Int64?
    public var clicks: Int64
    public var scannerClicks: Int64

    public init(linkID: String, subscriberID: Int64? = nil, clicks: Int64, scannerClicks: Int64) {
        self.linkID = linkID
        self.subscriberID = subscriberID
        self.clicks = clicks
        self.scannerClicks = scannerClicks
    }
}
