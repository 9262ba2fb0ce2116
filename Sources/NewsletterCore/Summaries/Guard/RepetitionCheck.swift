import Foundation

/// A model looping: a run of words or a sentence said twice, a word three times in a row. With
/// `repeatedRuns` off (verbatim sentences of the takes), only a sentence said twice. A long tool
/// name said twice is not a loop: each mention is masked as a word of its own.
struct RepetitionCheck: SummaryCheck {
    var repeatedRuns: Bool

    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        repeatedRuns
            ? SummaryGuard.repetition(
                SummaryGuard.masking(source.toolNames, in: text.text, with: { "toolmention\($0)" }))
            : SummaryGuard.repeatedSentences(text.sentences)
    }
}

extension SummaryGuard {
    /// A five-word run said twice, a sentence said twice, or one word three times in a row.
    static func repetition(_ text: String) -> [GuardRejection] {
        let list = words(text.lowercased())
        for index in list.indices.dropFirst(2) where list[index] == list[index - 1] && list[index] == list[index - 2] {
            return [.repetition(list[index])]
        }
        var seen: Set<String> = []
        if list.count >= 5 {
            for start in 0...(list.count - 5) {
                let run = list[start..<(start + 5)].joined(separator: " ")
                if !seen.insert(run).inserted { return [.repetition(run)] }
            }
        }
        return repeatedSentences(text)
    }

    static func repeatedSentences(_ text: String) -> [GuardRejection] {
        repeatedSentences(sentences(text))
    }

    static func repeatedSentences(_ sentences: [String]) -> [GuardRejection] {
        var sentencesSeen: Set<String> = []
        for sentence in sentences where !sentencesSeen.insert(sentence.lowercased()).inserted {
            return [.repetition(sentence)]
        }
        return []
    }
}
