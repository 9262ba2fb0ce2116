import Foundation

/// A capitalised name the source never mentions.
struct UnsupportedNamesCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.unsupportedNames(text, source: source)
    }
}

extension SummaryGuard {
    /// Capitalised words must be in the source; a sentence's first word may also be an
    /// ordinary word that is capitalised only because it starts the sentence.
    static func unsupportedNames(_ text: String, source: GuardSource) -> [GuardRejection] {
        unsupportedNames(CheckedText(text), source: source)
    }

    static func unsupportedNames(_ checked: CheckedText, source: GuardSource) -> [GuardRejection] {
        let sourceTokens = Set(tokens(source.text))
        let sourceLowerWords = Set(words(source.text.lowercased()))
        for sentence in checked.sentences {
            for (position, token) in tokens(sentence).enumerated() {
                guard token.contains(where: \.isUppercase), !token.contains(where: \.isNumber) else { continue }
                if sourceTokens.contains(token) || source.text.contains(token) { continue }
                // "AI-powered": a compound of a known name and ordinary words.
                let parts = token.split(separator: "-").map(String.init)
                if parts.count > 1,
                    parts.allSatisfy({ !$0.contains(where: \.isUppercase) || source.text.contains($0) })
                {
                    continue
                }
                let lower = token.lowercased()
                if position == 0 && (commonSentenceStarts.contains(lower) || sourceLowerWords.contains(lower)) {
                    continue
                }
                if token == "I" { continue }
                return [.unsupportedName(token)]
            }
        }
        return []
    }

    static let commonSentenceStarts: Set<String> = [
        "the", "this", "that", "these", "those", "both", "each", "it", "its", "they", "their", "while", "whereas",
        "however", "but", "and", "overall", "panel", "reviewers", "reviewer", "most", "all", "some", "one", "two",
        "neither", "either", "for", "in", "on", "with", "without", "although", "though", "still", "yet", "so",
        "meanwhile", "by", "as", "at", "if", "when", "where", "a", "an", "its", "only", "even", "many", "few",
        "several", "critics", "supporters", "opinions", "views", "verdicts", "unlike", "like", "compared",
        "despite", "after", "before", "because", "since", "given", "whether", "then", "also", "instead", "not", "no",
        "there", "here", "what", "which", "who", "how", "why", "nobody", "everyone",
        // How the model's reply is begun for it (SummaryPrompt.replyOpening): "Every reviewer ships X because".
        "every",
    ]
}
