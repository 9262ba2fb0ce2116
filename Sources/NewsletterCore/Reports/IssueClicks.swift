import Foundation

/// The clicks on one issue's tracked links, per link and per comparison, with the clicks that
/// looked like link scanners' counted apart (never in the click rate).
public struct IssueClicks: Encodable, Sendable, Equatable {
    public struct Link: Encodable, Sendable, Equatable {
        public var id: String
        public var target: String
        public var variant: String
        public var comparisonID: Int64?
        public var clicks: Int64
        public var scannerClicks: Int64
        /// Distinct readers who clicked, under `tracking.clicks = "per-reader"` only.
        public var readers: Int64
    }

    public struct Comparison: Encodable, Sendable, Equatable {
        public var id: Int64
        public var title: String
        public var clicks: Int64
        public var scannerClicks: Int64
    }

    public var clicks: Int64
    public var scannerClicks: Int64
    /// A person's clicks per delivered copy; nil before anything was delivered.
    public var clickRate: Double?
    /// Most clicked first.
    public var links: [Link]
    public var comparisons: [Comparison]

    /// The links' counts, with the comparisons' titles from the draft's issue.json.
    init(_ links: [LinkClicks], manifest: String?, delivered: Int) {
        let titles = Self.comparisonTitles(manifest)
        self.links = links.map {
            Link(
                id: $0.link.id, target: $0.link.target, variant: $0.link.variant, comparisonID: $0.link.comparisonID,
                clicks: $0.clicks, scannerClicks: $0.scannerClicks, readers: $0.readers)
        }.sorted { ($0.clicks, $1.id) > ($1.clicks, $0.id) }
        var byComparison: [Int64: Comparison] = [:]
        for link in links {
            guard let id = link.link.comparisonID else { continue }
            var entry = byComparison[id] ?? Comparison(id: id, title: titles[id] ?? "#\(id)", clicks: 0, scannerClicks: 0)
            entry.clicks += link.clicks
            entry.scannerClicks += link.scannerClicks
            byComparison[id] = entry
        }
        comparisons = byComparison.values.sorted { ($0.clicks, $1.id) > ($1.clicks, $0.id) }
        clicks = links.reduce(0) { $0 + $1.clicks }
        scannerClicks = links.reduce(0) { $0 + $1.scannerClicks }
        clickRate = delivered > 0 ? Double(clicks) / Double(delivered) : nil
    }

    /// Each featured comparison's title, by id, from the frozen draft's issue.json.
    static func comparisonTitles(_ manifest: String?) -> [Int64: String] {
        var titles: [Int64: String] = [:]
        for item in IssueRecord.manifestComparisons(manifest) {
            if let id = (item["id"] as? NSNumber)?.int64Value, let title = item["title"] as? String { titles[id] = title }
        }
        return titles
    }
}
