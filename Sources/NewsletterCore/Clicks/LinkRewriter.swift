import Foundation

/// Turns every http(s) link of a draft's variants into `{server.public_url}/r/{id}` when the
/// draft is frozen, so the bytes the editor approves (and the hash covers) are the bytes sent.
///
/// Building the same week again gives the same bytes: a link already stored for the week, in
/// the same variant with the same target, keeps its id, so previews do not undo an approval.
/// Links to the server's own pages (`server.public_url`: the archive) and the per-reader
/// placeholders (unsubscribe, preferences, which are not http links in the draft) are left
/// alone, as are targets that are not safe to redirect to (`TrackedLink.isRedirectable`).
struct LinkRewriter {
    var mode: ClickTracking
    var publicURL: String
    var week: IssueWeek
    /// The links the week's stored draft has, by variant and target.
    private var known: [Key: TrackedLink]
    /// The links of the draft being built, in the order they were met.
    private(set) var links: [TrackedLink] = []
    private var used: [Key: TrackedLink] = [:]

    private struct Key: Hashable {
        var variant: String
        var target: String
    }

    init(mode: ClickTracking, publicURL: String, week: IssueWeek, stored: [TrackedLink]) {
        self.mode = mode
        self.publicURL = publicURL
        self.week = week
        known = Dictionary(stored.map { (Key(variant: $0.variant, target: $0.target), $0) }) { first, _ in first }
    }

    /// The variant's HTML and text with their links rewritten. `comparisons` maps each linked
    /// comparison's URL to its id, so a link can be counted for its comparison.
    mutating func rewrite(html: String, text: String, variant: String, comparisons: [String: Int64])
        -> (html: String, text: String)
    {
        guard mode != .off else { return (html, text) }
        return (
            rewriteHTML(html, variant: variant, comparisons: comparisons),
            rewriteText(text, variant: variant, comparisons: comparisons)
        )
    }

    /// The redirect URL for `target`, or nil when the target stays as it is.
    private mutating func redirect(to target: String, variant: String, comparisons: [String: Int64]) -> String? {
        guard TrackedLink.isRedirectable(target), target != publicURL, !target.hasPrefix(publicURL + "/") else {
            return nil
        }
        let key = Key(variant: variant, target: target)
        let link =
            used[key] ?? known[key]
            ?? TrackedLink(
                id: TrackedLink.newID(), week: week, variant: variant, comparisonID: comparisons[target],
                target: target)
        if used[key] == nil {
            used[key] = link
            links.append(link)
        }
        let reader = mode == .perReader ? Placeholder.clickReader.rawValue : ""
        return "\(publicURL)/r/\(link.id)\(reader)"
    }

    /// Every `href="…"` value (the templates quote with double quotes).
    private mutating func rewriteHTML(_ html: String, variant: String, comparisons: [String: Int64]) -> String {
        var out = ""
        out.reserveCapacity(html.utf8.count)
        var rest = html[...]
        while let open = rest.range(of: "href=\"") {
            out += rest[..<open.upperBound]
            rest = rest[open.upperBound...]
            guard let close = rest.firstIndex(of: "\"") else { break }
            let value = String(rest[..<close])
            if let replaced = redirect(to: Self.unescape(value), variant: variant, comparisons: comparisons) {
                out += HTML.escape(replaced)
            } else {
                out += value
            }
            rest = rest[close...]
        }
        out += rest
        return out
    }

    /// Every run of characters that starts with http:// or https:// and ends at white space
    /// (without the punctuation that may close a sentence after it).
    private mutating func rewriteText(_ text: String, variant: String, comparisons: [String: Int64]) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var rest = text[...]
        while let start = Self.nextURL(in: rest) {
            out += rest[..<start]
            var end = rest[start...].firstIndex(where: \.isWhitespace) ?? rest.endIndex
            while end > start, ".,;:!?)]>'\"".contains(rest[rest.index(before: end)]) {
                end = rest.index(before: end)
            }
            let target = String(rest[start..<end])
            out += redirect(to: target, variant: variant, comparisons: comparisons) ?? target
            rest = rest[end...]
        }
        out += rest
        return out
    }

    private static func nextURL(in text: Substring) -> Substring.Index? {
        [text.range(of: "http://"), text.range(of: "https://")].compactMap { $0?.lowerBound }.min()
    }

    /// The entities `HTML.escape` writes, back to their characters.
    static func unescape(_ value: String) -> String {
        guard value.contains("&") else { return value }
        return value.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
