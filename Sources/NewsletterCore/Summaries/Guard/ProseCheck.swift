import Foundation

/// Bullets, headings, markdown emphasis or code instead of prose.
struct ProseCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.prose(text.text)
    }
}

extension SummaryGuard {
    /// Bullets, headings, markdown emphasis, code.
    static func prose(_ text: String) -> [GuardRejection] {
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- ") || trimmed.hasPrefix("* ") || trimmed.hasPrefix("#") || trimmed.hasPrefix("• ")
                || trimmed.range(of: #"^\d+[.)] "#, options: .regularExpression) != nil
            {
                return [.notProse(String(trimmed.prefix(40)))]
            }
        }
        for marker in ["**", "```", "__", "|---"] where text.contains(marker) {
            return [.notProse(marker)]
        }
        return []
    }

}
