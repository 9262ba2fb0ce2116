import Foundation

/// Too many content words that occur nowhere in the source: the text is about something else.
struct GroundingCheck: SummaryCheck {
    var maximumShare: Int

    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.ungrounded(text, source: source, maximumShare: maximumShare)
    }
}

extension SummaryGuard {
    /// Content words (four letters or more, not function words) must mostly come from the
    /// takes, compared by their first five letters so "priced" matches "pricing". A small model
    /// that drifts into "the world of the internet" fails here even when every name is right.
    static func ungrounded(_ text: String, source: GuardSource, maximumShare: Int) -> [GuardRejection] {
        ungrounded(CheckedText(text), source: source, maximumShare: maximumShare)
    }

    static func ungrounded(_ checked: CheckedText, source: GuardSource, maximumShare: Int) -> [GuardRejection] {
        func stem(_ word: String) -> String { String(word.prefix(5)) }
        let sourceStems = Set(words(source.text.lowercased()).map(stem))
        let content = checked.words.filter { $0.count >= 4 && !functionWords.contains($0) }
        guard content.count >= 5 else { return [] }
        let missing = content.filter { !sourceStems.contains(stem($0)) }
        let share = missing.count * 100 / content.count
        guard share > maximumShare else { return [] }
        var examples: [String] = []
        for word in missing where !examples.contains(word) && examples.count < 4 { examples.append(word) }
        return [.ungrounded(share: share, examples: examples)]
    }

    static let functionWords: Set<String> = [
        "that", "this", "these", "those", "with", "from", "into", "onto", "over", "under", "about", "than", "then",
        "they", "them", "their", "there", "here", "what", "which", "while", "when", "where", "whose", "will", "would",
        "could", "should", "have", "has", "been", "being", "were", "also", "only", "both", "each", "more", "most",
        "much", "many", "some", "such", "very", "even", "just", "like", "does", "doesn't", "isn't", "it's", "its",
        "panel", "panel's", "reviewer", "reviewers", "tool", "tools", "says", "said", "think", "thinks", "see", "sees",
        "however", "although", "though", "because", "whereas", "between", "other", "another", "overall", "make",
        "makes", "made", "well", "still", "whether", "either", "neither",
        // The words a summary of a panel is made of, whatever the takes say.
        "lean", "leans", "toward", "towards", "name", "names", "named", "praise", "praised", "praises", "liked",
        "likes", "dislike", "dislikes", "worry", "worries", "worried", "concern", "concerns", "concerned", "agree",
        "agrees", "disagree", "disagrees", "favor", "favors", "favour", "favours", "split", "divided", "majority",
        "verdict", "verdicts", "mostly", "ship", "ships", "shipping", "shipped", "skip", "skips", "skipped", "every",
        "criticized", "criticised", "criticizes", "doubt", "doubts", "view", "views", "argue", "argues", "notes",
        "warns", "warned", "calls", "called", "rival", "rivals", "strength", "strengths", "weakness", "weaknesses",
        "risk", "risks", "benefit", "benefits", "mixed", "positive", "negative", "skeptical", "sceptical",
        "making", "allowing", "allows", "easier", "helps", "offers", "provides", "useful",
        // Counts in words: the verdict check holds them to the panel's figures.
        "three", "four", "five",
    ]
}
