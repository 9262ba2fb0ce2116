import Foundation

/// The list-wide settings an issue is rendered with.
public struct IssueSettings: Sendable, Equatable {
    public var listName = "Ship or Skip Weekly"
    public var siteURL = "https://example.com"
    public var language = "en"
    /// Where `serve` is reachable from subscribers' mail clients: unsubscribe and preference links.
    public var publicURL = "http://localhost:8080"
    public var timeZone = TimeZone(identifier: "UTC")!
    public var policy = SelectionPolicy()
    /// `[topics.aliases]`: how page categories become the topics readers choose.
    public var topics = TopicAliases()
    /// More distinct topic choices than this among the readers and `preview` refuses the week.
    public var maxVariants = 16
    /// `tracking.clicks`: how the draft's links are rewritten when it is frozen (LinkRewriter).
    public var clicks = ClickTracking.aggregate

    public init() {}
}

/// One selected comparison with its summary: what the templates show.
public struct IssueItem: Sendable {
    public var stored: StoredComparison
    public var summary: PanelSummary
}

/// Builds the templates' view model (documented in templates/README.md) from the selected
/// comparisons. Text for the plain-text email is wrapped here, at 72 columns, since Mustache
/// cannot.
struct IssueContent {
    var week: IssueWeek
    var items: [IssueItem]
    var settings: IssueSettings
    /// "View in the browser" (`ArchivePages.viewURL`); nil leaves the line out.
    var viewURL: String?

    var subject: String {
        let titles = items.map { Personalization.defuse($0.stored.comparison.title) }
        let lead = titles.first ?? "no comparisons"
        let more = titles.count > 1 ? " and \(titles.count - 1) more" : ""
        return "\(settings.listName) · \(week): \(lead)\(more)"
    }

    var preheader: String {
        let titles = items.map { Personalization.defuse($0.stored.comparison.title) }
        let named = titles.prefix(2).joined(separator: ", ")
        let more = titles.count > 2 ? " and \(titles.count - 2) more" : ""
        return "\(named)\(more): the panel's verdicts this week."
    }

    var weekLabel: String {
        let window = week.window(in: settings.timeZone)
        let last = window.end.addingTimeInterval(-1)
        func format(_ pattern: String, _ date: Date) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_GB")
            formatter.timeZone = settings.timeZone
            formatter.dateFormat = pattern
            return formatter.string(from: date)
        }
        let range: String
        if format("yyyy", window.start) != format("yyyy", last) {
            range = "\(format("d MMMM yyyy", window.start)) – \(format("d MMMM yyyy", last))"
        } else if format("MM", window.start) != format("MM", last) {
            range = "\(format("d MMMM", window.start)) – \(format("d MMMM yyyy", last))"
        } else {
            range = "\(format("d", window.start))–\(format("d MMMM yyyy", last))"
        }
        return "Week \(week.week) · \(range)"
    }

    func context() -> [String: Any] {
        [
            "lang": settings.language,
            "listName": settings.listName,
            "subject": subject,
            "preheader": preheader,
            "weekLabel": weekLabel,
            "greeting": Placeholder.greeting.rawValue,
            "unsubscribeURL": Placeholder.unsubscribeURL.rawValue,
            "preferencesURL": Placeholder.preferencesURL.rawValue,
            "siteURL": settings.siteURL,
            "viewURL": viewURL ?? "",
            "hasViewURL": viewURL != nil,
            "comparisonCount": items.count,
            "comparisons": items.enumerated().map { comparisonContext($1, number: $0 + 1) },
            "footerText": footerText,
        ]
    }

    private var footerText: String {
        TextWrap.wrap(
            "You get \(settings.listName) because you subscribed at \(settings.siteURL) and confirmed your address.")
            + "\n"
    }

    private func comparisonContext(_ item: IssueItem, number: Int) -> [String: Any] {
        let comparison = item.stored.comparison
        let defuse = Personalization.defuse
        let url = comparison.url.flatMap(Self.linkableURL)
        let tools: [[String: Any]] = comparison.tools.map { tool in
            let panel = panelFigures(tool)
            return [
                "name": defuse(tool.name),
                "tagline": defuse(tool.tagline),
                "pricing": defuse(tool.pricing ?? tool.entry ?? "Pricing not listed"),
                "hasPanel": panel != nil,
                "shipPercent": panel?.ship ?? 0,
                "skipPercent": panel.map { 100 - $0.ship } ?? 0,
                "verdictLabel": panel?.label ?? "No panel verdict",
                "isShip": (panel?.ship ?? 0) >= 50,
                "votesLabel": votesLabel(tool),
            ]
        }
        let reviewers: [[String: Any]] = ReviewerRole.allCases.map { role in
            [
                "role": role.rawValue,
                "cells": comparison.tools.map { tool -> [String: Any] in
                    let take = comparison.takes.first { $0.role == role && $0.tool == tool.name }
                    let label: String
                    if let take {
                        if let verdict = take.verdict {
                            label = take.score.map { "\($0) \(verdict.rawValue)" } ?? verdict.rawValue
                        } else {
                            label = "reviewed"
                        }
                    } else {
                        label = "no take"
                    }
                    return [
                        "tool": defuse(tool.name), "label": label, "isShip": take?.verdict == .ship,
                        "isSkip": take?.verdict == .skip, "isNone": take == nil,
                    ]
                },
            ]
        }
        return [
            "number": number,
            "tocText": defuse(TextWrap.wrap(comparison.title, indent: "     ", firstIndent: "  \(number). ")),
            "title": defuse(comparison.title),
            "url": url ?? "",
            "hasURL": url != nil,
            "summary": defuse(item.summary.text),
            "summaryLabel": Self.summaryLabel(item.summary),
            "summaryKind": item.summary.kind.rawValue,
            "summaryProvider": defuse(item.summary.provider),
            "summaryModel": defuse(item.summary.model ?? ""),
            "isAbstractiveSummary": item.summary.kind == .abstractive,
            "isEditedSummary": item.summary.kind == .edited,
            "isFallbackSummary": item.summary.kind.isFallback,
            "tools": tools,
            "reviewers": reviewers,
            "textBlock": defuse(textBlock(item, number: number, url: url)),
        ]
    }

    /// The summary's heading says what it is, so a reader never takes one kind for another: a
    /// model's own words (checked against the takes), the reviewers' sentences picked by a model
    /// or by fixed rules, or the editor's.
    static func summaryLabel(_ summary: PanelSummary) -> String {
        switch summary.kind {
        case .abstractive: "Summary written by a model, checked against the takes"
        case .grammarExtractive: "Quoted from the panel, sentences picked by a model"
        case .extractive: "Quoted from the panel"
        case .edited: "Written by the editor"
        }
    }

    /// A page's address, if it is safe to link to: absolute http(s), no white space, and no
    /// `%%`, which page authors could otherwise use to plant a per-subscriber placeholder (and
    /// collect every subscriber's unsubscribe token) in a link.
    static func linkableURL(_ text: String) -> String? {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            url.host?.isEmpty == false, !text.contains("%%"), !text.contains(where: \.isWhitespace)
        else { return nil }
        return text
    }

    private func panelFigures(_ tool: Tool) -> (ship: Int, label: String)? {
        guard let percent = tool.panelShipPercent else { return nil }
        let label = tool.panelVerdict.map { $0 == .ship ? "Ship" : "Skip" } ?? (percent >= 50 ? "Ship" : "Skip")
        return (percent, label)
    }

    private func votesLabel(_ tool: Tool) -> String {
        guard let ship = tool.shipVotes, let skip = tool.skipVotes else { return "" }
        return "\(ship) ship / \(skip) skip"
    }

    /// The comparison as the plain-text email shows it, every line within 72 columns (a URL
    /// longer than that stands alone on its line).
    func textBlock(_ item: IssueItem, number: Int, url: String?) -> String {
        let comparison = item.stored.comparison
        let indent = "   "
        var out = TextWrap.wrap(comparison.title, indent: indent, firstIndent: "\(number). ") + "\n"
        if let url { out += indent + url + "\n" }
        for tool in comparison.tools {
            out +=
                "\n" + TextWrap.wrap("\(tool.name): \(tool.tagline)", indent: indent + "  ", firstIndent: indent) + "\n"
            out +=
                TextWrap.wrap(
                    "Pricing: \(tool.pricing ?? tool.entry ?? "not listed")", indent: indent + "  ", firstIndent: indent
                ) + "\n"
            if let panel = panelFigures(tool) {
                let filled = Int((Double(panel.ship) / 10).rounded())
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: 10 - filled)
                let votes = votesLabel(tool)
                out +=
                    "\(indent)Panel: [\(bar)] \(panel.label), \(panel.ship)% ship" + (votes.isEmpty ? "" : ", \(votes)")
                    + "\n"
            } else {
                out += "\(indent)Panel: no verdict\n"
            }
        }
        out += "\n"
        // Without verdicts (the quoted layout) a row only says who reviewed what, briefly.
        let hasVerdicts = comparison.takes.contains { $0.verdict != nil }
        for role in ReviewerRole.allCases {
            let takes = comparison.tools.map { tool in
                comparison.takes.first { $0.role == role && $0.tool == tool.name }
            }
            let row: String
            if hasVerdicts {
                row = zip(comparison.tools, takes).map { tool, take -> String in
                    guard let take else { return "\(tool.name) no take" }
                    guard let verdict = take.verdict else { return "\(tool.name) reviewed" }
                    return "\(tool.name) \(take.score.map { "\($0) " } ?? "")\(verdict.rawValue)"
                }.joined(separator: " · ")
            } else {
                let reviewed = zip(comparison.tools, takes).filter { $0.1 != nil }.map(\.0.name)
                row =
                    reviewed.count == comparison.tools.count
                    ? "reviewed both"
                    : reviewed.isEmpty ? "no take" : "reviewed \(reviewed.joined(separator: ", ")) only"
            }
            let label = role.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
            out +=
                TextWrap.wrap(
                    row, indent: indent + String(repeating: " ", count: 10), firstIndent: indent + label + " ") + "\n"
        }
        out += "\n" + TextWrap.wrap(Self.summaryLabel(item.summary) + ":", indent: indent) + "\n"
        out += TextWrap.wrap(item.summary.text, indent: indent) + "\n"
        return out
    }
}
