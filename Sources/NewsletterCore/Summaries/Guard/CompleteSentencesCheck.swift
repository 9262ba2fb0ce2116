import Foundation

/// A text that stops mid-sentence, or a sentence that does not start like one.
struct CompleteSentencesCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.completeSentences(text)
    }
}

extension SummaryGuard {
    /// The text ends a sentence, and every sentence starts like one and has a few words.
    static func completeSentences(_ text: String) -> [GuardRejection] {
        completeSentences(CheckedText(text))
    }

    static func completeSentences(_ checked: CheckedText) -> [GuardRejection] {
        let text = checked.text
        let closing: Set<Character> = ["\"", "”", "’", "'", ")"]
        var end = text
        while let last = end.last, closing.contains(last) { end.removeLast() }
        if end.hasSuffix("...") || end.hasSuffix("…") || !(end.last.map { ".!?".contains($0) } ?? false) {
            return [.incompleteSentence(String(text.suffix(60)))]
        }
        for sentence in checked.sentences {
            let first = sentence.first { !"\"“‘'(".contains($0) }
            guard let first, first.isUppercase || first.isNumber else {
                return [.incompleteSentence(String(sentence.prefix(40)))]
            }
            if words(sentence).count < 3 { return [.incompleteSentence(sentence)] }
        }
        return []
    }
}
