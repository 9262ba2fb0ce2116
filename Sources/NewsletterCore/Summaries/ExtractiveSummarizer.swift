import Foundation

/// A comparison's summary and where it came from: which provider and model made it, what kind
/// it is (abstractive, a fallback, an editor's), and what it cost.
public struct PanelSummary: Sendable, Equatable, Codable {
    public var text: String
    /// `extractive` (sentences of the takes themselves, no model), `editor`, or a model
    /// provider (`local`, an endpoint's name, `local-grammar`).
    public var provider: String
    public var kind: SummaryKind
    public var model: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// Wall time of the model request that produced it.
    public var milliseconds: Int?
    /// For a fallback: why the providers before it did not make the summary.
    public var note: String?

    public init(
        text: String, provider: String, kind: SummaryKind = .extractive, model: String? = nil,
        promptTokens: Int? = nil, completionTokens: Int? = nil, milliseconds: Int? = nil, note: String? = nil
    ) {
        self.text = text
        self.provider = provider
        self.kind = kind
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.milliseconds = milliseconds
        self.note = note
    }
}

/// The summary that needs no model: the panel's own opening sentences, attributed.
///
/// It quotes, for each tool, the opening sentence of its best-scored take, then the opening
/// sentence of the most critical take (a skip, else the lowest score, else the Skeptic's), so
/// that the reader sees both sides. Deterministic: the same comparison gives the same words.
public enum ExtractiveSummarizer {
    public static let provider = "extractive"
    static let maxSentenceLength = 240

    public static func summarize(_ comparison: Comparison) -> PanelSummary {
        // A take that addresses a model or carries markup is never quoted as the panel's view.
        let comparison = TakeScreening.screened(comparison)
        var chosen: [Take] = []
        for tool in comparison.tools {
            let takes = comparison.takes.filter { $0.tool == tool.name }
            let best = takes.max { ($0.score ?? 0, roleRank($1)) < ($1.score ?? 0, roleRank($0)) }
            if let best { chosen.append(best) }
        }
        let critical =
            comparison.takes.first { $0.verdict == .skip && !chosen.contains($0) }
            ?? comparison.takes.filter { $0.score != nil && !chosen.contains($0) }.min { $0.score! < $1.score! }
            ?? comparison.takes.first { $0.role == .skeptic && !chosen.contains($0) }
        if let critical { chosen.append(critical) }
        let sentences = chosen.map { take in
            "\(take.role.rawValue) on \(take.tool): \(firstSentence(of: take.text))"
        }
        return PanelSummary(
            text: sentences.isEmpty ? "The panel left no takes on this comparison." : sentences.joined(separator: "\n"),
            provider: provider)
    }

    private static func roleRank(_ take: Take) -> Int {
        ReviewerRole.allCases.firstIndex(of: take.role) ?? 0
    }

    /// Up to the first sentence end (., ! or ? before a space and a capital or a quote),
    /// shortened at a word boundary when very long.
    static func firstSentence(of text: String) -> String {
        let characters = Array(text)
        var end = characters.count
        var index = 0
        while index < characters.count - 2 {
            if ".!?".contains(characters[index]), characters[index + 1] == " ",
                characters[index + 2].isUppercase || "“\"‘'".contains(characters[index + 2])
            {
                end = index + 1
                break
            }
            index += 1
        }
        var sentence = String(characters[..<end])
        if sentence.count > maxSentenceLength {
            let cut = sentence.prefix(maxSentenceLength)
            sentence = String(cut[..<(cut.lastIndex(of: " ") ?? cut.endIndex)]) + "…"
        }
        return sentence
    }
}
