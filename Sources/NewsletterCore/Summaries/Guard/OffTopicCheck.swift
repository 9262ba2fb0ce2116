import Foundation

/// A summary that does not name every tool it is about.
struct OffTopicCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.offTopic(text, source: source)
    }
}

extension SummaryGuard {
    /// Every tool must be named: in full, or by a distinctive first word ("Vercel", "Hugging").
    static func offTopic(_ text: String, source: GuardSource) -> [GuardRejection] {
        offTopic(CheckedText(text), source: source)
    }

    static func offTopic(_ checked: CheckedText, source: GuardSource) -> [GuardRejection] {
        let lower = checked.lower
        let missing = source.toolNames.filter { name in
            let name = name.lowercased()
            if lower.contains(name) { return false }
            let first = name.split(separator: " ").first.map(String.init) ?? name
            return !(first.count >= 4 && first != name && lower.contains(first))
        }
        return missing.isEmpty ? [] : [.offTopic(missing: missing)]
    }

}
