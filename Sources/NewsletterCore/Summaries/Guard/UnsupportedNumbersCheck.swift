import Foundation

/// A number, or a token with a digit in it, that the source does not contain.
struct UnsupportedNumbersCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.unsupportedNumbers(text, source: source)
    }
}

extension SummaryGuard {
    /// Every token with a digit in it must occur in the source: pure numbers compared as
    /// numbers (`1,000` = `1000`, `80%` = `80`), others (`3B`, `GPT-4o`) as written.
    static func unsupportedNumbers(_ text: String, source: GuardSource) -> [GuardRejection] {
        unsupportedNumbers(CheckedText(text), source: source)
    }

    static func unsupportedNumbers(_ checked: CheckedText, source: GuardSource) -> [GuardRejection] {
        let sourceTokens = tokens(source.text)
        let sourceNumbers = Set(sourceTokens.compactMap(normalizedNumber))
        let sourceLower = Set(sourceTokens.map { $0.lowercased() })
        for token in checked.tokens where token.contains(where: \.isNumber) {
            if let number = normalizedNumber(token) {
                if !sourceNumbers.contains(number) { return [.unsupportedNumber(token)] }
            } else if !sourceLower.contains(token.lowercased()) {
                return [.unsupportedNumber(token)]
            }
        }
        return []
    }

}
