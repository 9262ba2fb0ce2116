import Foundation

/// A specific claim nobody made: two content words in a row that occur nowhere on the page ("voice
/// memos", "medical corpus", "audit logs"). One new word is how an editor paraphrases ("fearing",
/// "poorly"); a new noun phrase is a feature, customer or benchmark the page does not have. Names
/// and numbers have their own checks; everyday words (`CommonWords`) are never a claim.
struct InventedCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        guard !source.takes.isEmpty else { return [] }
        let known = Set(SummaryGuard.words(source.text.lowercased()).map(ClaimAlignment.stem))
        func new(_ word: String) -> Bool {
            word.count >= 4 && !SummaryGuard.functionWords.contains(word) && !CommonWords.all.contains(word)
                && !word.contains(where: \.isNumber)
                && !known.contains(ClaimAlignment.stem(word))
        }
        for sentence in text.sentences {
            let words = SummaryGuard.words(sentence.lowercased())
            for index in words.indices.dropFirst() where new(words[index - 1]) && new(words[index]) {
                return [.invented(words[index - 1] + " " + words[index])]
            }
        }
        return []
    }
}
