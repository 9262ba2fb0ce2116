import Foundation

/// One of the guard's checks: the reasons it refuses a text, none when it has nothing against it.
/// Each check names the words it objects to in the rejection it returns.
public protocol SummaryCheck: Sendable {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection]
}

/// A summary's text split once, for every check: its sentences, words and tokens.
public struct CheckedText: Sendable {
    /// The text without surrounding white space.
    public let text: String
    public let lower: String
    public let sentences: [String]
    /// Words of the lowercased text (letters, digits, inner apostrophes and hyphens).
    public let words: [String]
    /// White-space separated tokens, surrounding punctuation and a possessive removed.
    public let tokens: [String]

    public init(_ text: String) {
        self.text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        lower = self.text.lowercased()
        sentences = SummaryGuard.sentences(self.text)
        words = SummaryGuard.words(lower)
        tokens = SummaryGuard.tokens(self.text)
    }

    public var isEmpty: Bool { text.isEmpty }
}
