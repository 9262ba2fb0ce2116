import Foundation

/// What a text says of each tool, cut into clauses, and the take each clause comes from: the
/// ground the meaning checks (a reason present, nothing inverted, no fused cause) compare against.
struct ClaimAlignment {
    /// One clause about one tool.
    struct Claim {
        var text: String
        var tool: String
        var words: [String]
    }

    let source: GuardSource

    /// Each sentence's clauses with the tool they are about: a sentence that names one tool is
    /// about it; one that names both is cut where it turns from one to the other; one that names
    /// none is about the tool of the sentence before it.
    func claims(_ text: CheckedText) -> [Claim] {
        var claims: [Claim] = []
        var last: String?
        for sentence in text.sentences {
            let named = SummaryGuard.toolsNamed(in: sentence, source: source)
            if named.count > 1 {
                for part in SummaryGuard.clausesByTool(sentence, source: source) {
                    claims.append(Claim(text: part.clause, tool: part.tool, words: SummaryGuard.words(part.clause.lowercased())))
                }
                last = named.last
            } else if let tool = named.first ?? last {
                claims.append(Claim(text: sentence, tool: tool, words: SummaryGuard.words(sentence.lowercased())))
                last = tool
            }
        }
        return claims
    }

    /// The take of `tool` a clause comes from: the one whose reviewer it names, else the one that
    /// shares the most content words with it (two at least); nil when none does.
    func take(for clause: String, tool: String) -> GuardSource.TakeText? {
        let takes = source.takes[tool] ?? []
        let lower = SummaryGuard.words(clause.lowercased())
        let named = takes.filter { lower.contains($0.role.lowercased()) }
        if named.count == 1 { return named[0] }
        let stems = Set(Self.contentStems(clause, source: source))
        let scored = takes.map { take in
            (take, stems.intersection(Self.contentStems(take.text, source: source)).count)
        }
        guard let best = scored.max(by: { $0.1 < $1.1 }), best.1 >= 2 else { return nil }
        return best.0
    }

    /// The stems of `text`'s content words: four letters or more, not function words, not a
    /// tool's name or a reviewer's role, compared by their first five letters (four for a word of five: "leaky" is
    /// "leak").
    static func contentStems(_ text: String, source: GuardSource) -> [String] {
        // The reviewers' roles are how a clause names its take, not what it says.
        let names = Set(source.toolNames.flatMap { SummaryGuard.words($0.lowercased()) })
            .union(ReviewerRole.allCases.map { $0.rawValue.lowercased() })
        return SummaryGuard.words(text.lowercased())
            .filter { $0.count >= 4 && !SummaryGuard.functionWords.contains($0) && !names.contains($0) }
            .map(stem)
    }

    /// The panel's verdict ("every reviewer ships X because …") is the whole panel's: neither a
    /// point of the one take that happens to say "ships" (a cause fused onto it) nor a reason
    /// for it (a sentence that only says the panel ships gives none).
    static let verdictStems = Set(
        [
            "ship", "ships", "shipped", "shipping", "skip", "skips", "skipped", "skipping", "reviewer", "reviewers",
            "panel", "every", "most", "split",
        ].map(stem))

    static func stem(_ word: String) -> String {
        String(word.prefix(word.count == 5 ? 4 : 5))
    }
}
