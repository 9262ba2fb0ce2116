import Foundation

/// Why the guard refused a model's summary. Each case says what was wrong with the text.
public enum GuardRejection: Error, Equatable, Hashable, Sendable, CustomStringConvertible {
    case empty
    case tooShort(words: Int, minimum: Int)
    case tooLong(words: Int, maximum: Int)
    /// A number that no take, title or panel figure contains.
    case unsupportedNumber(String)
    /// A capitalised name or product the source never mentions.
    case unsupportedName(String)
    /// The same run of words twice, or a word over and over: the model is looping.
    case repetition(String)
    /// A sentence cut off, or text that does not end a sentence.
    case incompleteSentence(String)
    /// Lists, headings, markdown or code instead of prose.
    case notProse(String)
    /// Role markers, chat tokens, "As an AI", or the prompt's own instructions.
    case leakedInstructions(String)
    /// A stated verdict the panel's counts contradict.
    case verdictMismatch(stated: String, panel: String)
    /// It does not name the tools it is meant to be about.
    case offTopic(missing: [String])
    /// Too many of its content words occur nowhere in the takes: it is about something else.
    case ungrounded(share: Int, examples: [String])
    /// A sentence about one tool says what the page says about the other one.
    case misattributed(tool: String, words: [String], belongsTo: String)
    /// Ten words or more in a row copied from the page (the tool's description or tagline): the
    /// page's words, not the panel's, would ship under a heading that says a model summarized
    /// the takes.
    case copiedFromPage(String)
    /// A tool's sentence that says only what the tool is (its tagline or description), none of the
    /// reasons its takes give.
    case noReason(tool: String, words: [String])
    /// Words for a specific claim (a feature, customer, benchmark) that neither the page nor the
    /// tool's material has.
    case invented(String)
    /// A claim turned into its opposite: the take says one thing (`take`), the sentence the
    /// reverse (`said`).
    case inverted(said: String, take: String, role: String)
    /// A cause (`connective`) joining points from two reviewers' takes, a link neither gave.
    case fusedCause(connective: String, roles: [String])

    /// What kind of refusal this is, for counting failures by kind and for telling them apart.
    public var rejectionKind: RejectionKind {
        switch self {
        case .empty: .empty
        case .tooShort: .tooShort
        case .tooLong: .tooLong
        case .unsupportedNumber: .unsupportedNumber
        case .unsupportedName: .unsupportedName
        case .repetition: .repetition
        case .incompleteSentence: .incompleteSentence
        case .notProse: .notProse
        case .leakedInstructions: .leakedInstructions
        case .verdictMismatch: .verdictMismatch
        case .offTopic: .offTopic
        case .ungrounded: .ungrounded
        case .misattributed: .misattributed
        case .copiedFromPage: .copied
        case .noReason: .noReason
        case .invented: .invented
        case .inverted: .inverted
        case .fusedCause: .fusedCause
        }
    }

    /// A stable name for counting failures by kind (the eval's JSON, log lines).
    public var kind: String { rejectionKind.rawValue }

    public var description: String {
        switch self {
        case .empty: "the reply is empty"
        case .tooShort(let words, let minimum): "\(words) words, fewer than \(minimum)"
        case .tooLong(let words, let maximum): "\(words) words, more than \(maximum)"
        case .unsupportedNumber(let number): "the number \(number) is not in the takes"
        case .unsupportedName(let name): "the name \"\(name)\" is not in the takes"
        case .repetition(let words): "repeats \"\(words)\""
        case .incompleteSentence(let text): "incomplete sentence: \"\(text)\""
        case .notProse(let text): "not prose: \"\(text)\""
        case .leakedInstructions(let text): "leaks instructions or role text: \"\(text)\""
        case .verdictMismatch(let stated, let panel): "states \"\(stated)\" but the panel says \(panel)"
        case .offTopic(let missing): "never names \(missing.joined(separator: " or "))"
        case .ungrounded(let share, let examples):
            "\(share) % of its content words are not in the takes (\(examples.joined(separator: ", ")))"
        case .misattributed(let tool, let words, let other):
            "says of \(tool) what the page says of \(other) (\(words.joined(separator: ", ")))"
        case .copiedFromPage(let words): "copies the page word for word (\"\(words)\")"
        case .noReason(let tool, let words):
            "says what \(tool) is (\(words.joined(separator: ", "))) but none of the panel's reasons"
        case .invented(let words): "\"\(words)\" is on neither the page nor the tool's material"
        case .inverted(let said, let take, let role):
            "turns the \(role)'s take around: \"\(said)\" where it says \"\(take)\""
        case .fusedCause(let connective, let roles):
            "\"\(connective)\" joins points of different takes (\(roles.joined(separator: ", "))) that neither links"
        }
    }
}

/// The kinds of refusal, by the stable names the eval and the logs count them under.
public enum RejectionKind: String, Sendable, CaseIterable, Codable {
    case empty
    case tooShort = "too-short"
    case tooLong = "too-long"
    case unsupportedNumber = "unsupported-number"
    case unsupportedName = "unsupported-name"
    case repetition
    case incompleteSentence = "incomplete-sentence"
    case notProse = "not-prose"
    case leakedInstructions = "leaked-instructions"
    case verdictMismatch = "verdict-mismatch"
    case offTopic = "off-topic"
    case ungrounded
    case misattributed
    case copied
    case noReason = "tagline-only"
    case invented
    case inverted
    case fusedCause = "fused-cause"
}
