import Foundation

extension IssueRecord {
    /// The comparisons of a draft's issue.json, each as its JSON object; empty without one.
    static func manifestComparisons(_ manifest: String?) -> [[String: Any]] {
        guard let manifest, let object = try? JSONSerialization.jsonObject(with: Data(manifest.utf8)) as? [String: Any]
        else { return [] }
        return object["comparisons"] as? [[String: Any]] ?? []
    }

    /// How many of the draft's summaries are of each kind (abstractive, grammar-extractive,
    /// extractive, edited), read from its issue.json; nil for drafts from before summaries had
    /// kinds.
    public var summaryKinds: [String: Int]? {
        let comparisons = Self.manifestComparisons(manifest)
        var counts: [String: Int] = [:]
        for comparison in comparisons {
            guard let kind = (comparison["summary"] as? [String: Any])?["kind"] as? String else { return nil }
            counts[kind, default: 0] += 1
        }
        return counts.isEmpty ? nil : counts
    }

    /// `issues`' line: the week, its status, the subject (or why it was skipped) and the kinds
    /// of its summaries.
    public var listLine: String {
        let detail = status == .skipped ? (skipReason ?? "") : (subject ?? "")
        let kinds = summaryKinds.map { kinds in
            "  [summaries: " + kinds.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                + "]"
        }
        return "\(week)  \(status.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(detail)\(kinds ?? "")"
    }
}
