import Foundation

extension IssuePreview.Result {
    /// `preview`'s report for a person: the draft, each comparison and how its summary was
    /// made, what was left out, the HTML size against Gmail's clipping, the variants, the files
    /// written, and how to approve.
    public func text(_ week: IssueWeek) -> [String] {
        let count = items.count
        var lines = [
            "\(week): \(count) comparison\(count == 1 ? "" : "s"), draft \(draft.hash.prefix(12))\(stillApproved ? " (unchanged, still approved)" : "")"
        ]
        for (index, item) in items.enumerated() {
            let summary = item.summary
            let made =
                summary.kind == .extractive || summary.kind == .edited
                ? summary.kind.rawValue : "\(summary.kind.rawValue) by \(summary.provider)"
            lines.append(
                "  \(index + 1). #\(item.stored.id) \(item.stored.comparison.title)  [summary: \(made)\(summary.kind.isFallback ? ", fallback" : "")]"
            )
        }
        func ids(_ ids: [Int64]) -> String { ids.map { "#\($0)" }.joined(separator: ", ") }
        if !selection.leftOut.isEmpty { lines.append("  left out (over issue.max_comparisons): \(ids(selection.leftOut))") }
        if !selection.alreadyFeatured.isEmpty {
            lines.append("  already featured by a sent issue: \(ids(selection.alreadyFeatured))")
        }
        let size = draft.html.utf8.count
        lines.append(
            "  HTML \(size / 1024) KB\(size > 100 * 1024 ? " — over the 100 KB budget: Gmail clips messages near 102 KB" : "")")
        if let variants = draft.variants?.variants, variants.count > 1 {
            lines.append("  \(variants.count) variants, one per topic choice with readers:")
            for variant in variants {
                let holds =
                    variant.isEmpty ? "no comparison: its readers are skipped" : "\(variant.comparisonIDs.count) comparison(s)"
                lines.append("    \(variant.id)  \(variant.choice)  \(variant.readers) reader(s), \(holds)")
            }
        }
        lines += files.map { "  wrote \($0)" }
        if !stillApproved { lines.append("Approve it with: newsletter approve --week \(week) --hash \(draft.hash.prefix(12))") }
        return lines
    }

    /// The summary providers that could not run, by reason, each reason once: a notice, not a
    /// failure (the fallbacks ship), unless summaries are strict.
    public var unavailableProviders: [(reason: String, providers: [String])] {
        var unavailable: [String: Set<String>] = [:]
        for outcome in summaryOutcomes {
            for (provider, reason) in outcome.unavailable { unavailable[reason, default: []].insert(provider) }
        }
        return unavailable.sorted { $0.key < $1.key }.map { ($0.key, $0.value.sorted()) }
    }
}
