import Crypto
import Foundation

/// One frozen version of a week's issue: what the readers of one topic choice get.
public struct IssueVariant: Codable, Sendable, Equatable {
    /// `everything`, or a short name derived from the topics (`TopicChoice.variantID`).
    public var id: String
    public var choice: TopicChoice
    /// Readers with this choice when the draft was built (not part of the hash: the list moves).
    public var readers: Int
    /// The week's selection restricted to the choice's topics, in the selection's order.
    public var comparisonIDs: [Int64]
    /// Nil when no comparison of the week is in these topics: such readers are skipped.
    public var subject: String?
    public var html: String?
    public var text: String?
    /// SHA-256 over subject, HTML and text, as for a single draft.
    public var hash: String?

    public var isEmpty: Bool { comparisonIDs.isEmpty }
}

/// Where a subscriber's copy of a frozen issue comes from.
public enum VariantAssignment: Sendable, Equatable {
    case variant(IssueVariant)
    case skipped(reason: String)

    public static let noComparisonReason = "no comparison in your topics"
    public static let noApprovedVariantReason =
        "your topics changed after this issue was approved and no approved variant has exactly their comparisons"
}

/// The week's issue as a set of variants, frozen with the draft and covered by its hash.
public struct FrozenVariants: Codable, Sendable, Equatable {
    public struct ComparisonTopics: Codable, Sendable, Equatable {
        public var id: Int64
        public var topics: [String]
    }

    /// `everything` first, then by choice.
    public var variants: [IssueVariant]
    /// The selection, in order, with each comparison's topics as they were resolved for the draft.
    public var selection: [ComparisonTopics]
    /// The random part of the issue's "View in the browser" link, kept across rebuilds so
    /// the bytes stay the same (nil in drafts made before the link).
    public var viewKey: String? = nil

    public var everything: IssueVariant? { variants.first { $0.choice.isEverything } }

    /// The frozen variant a subscriber with `choice` gets, or why they get none. A choice made
    /// after approval gets the variant whose comparisons are exactly what that choice would
    /// have selected, never a newly built email.
    public func assignment(for choice: TopicChoice) -> VariantAssignment {
        if let exact = variants.first(where: { $0.choice == choice }) {
            return exact.isEmpty ? .skipped(reason: VariantAssignment.noComparisonReason) : .variant(exact)
        }
        let wanted = selection.filter { choice.admits(Set($0.topics)) }.map(\.id)
        if wanted.isEmpty { return .skipped(reason: VariantAssignment.noComparisonReason) }
        if let same = variants.first(where: { $0.comparisonIDs == wanted }) { return .variant(same) }
        return .skipped(reason: VariantAssignment.noApprovedVariantReason)
    }

    /// The draft hash: with only the everything-variant, the hash of its bytes (so drafts from
    /// before topics keep their approval); otherwise a hash over every variant's choice and bytes.
    public var draftHash: String {
        if variants.count == 1, let only = variants.first, only.choice.isEverything, let hash = only.hash {
            return hash
        }
        var hasher = SHA256()
        for variant in variants {
            for part in [variant.id, variant.choice.topics.joined(separator: "\n"), variant.hash ?? "-"] {
                hasher.update(data: Data(part.utf8))
                hasher.update(data: Data([0]))
            }
        }
        return Hex.encode(hasher.finalize())
    }

    func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> FrozenVariants {
        try JSONDecoder().decode(FrozenVariants.self, from: Data(text.utf8))
    }
}

/// Plans and renders a week's variants from its selection and its readers' choices.
public enum VariantPlanner {
    /// The choices to build: everything (the issue as a whole, which the archive and test sends
    /// show) and every choice that has readers, `everything` first.
    public static func choices(readers: [TopicChoice: Int]) -> [TopicChoice] {
        [.everything] + readers.keys.filter { !$0.isEverything && readers[$0]! > 0 }.sorted()
    }

    /// Renders every variant; `render` turns the variant's id and restricted items into subject,
    /// HTML and text (as they are frozen: the hash is taken over what it returns).
    static func build(
        items: [IssueItem], aliases: TopicAliases, readers: [TopicChoice: Int],
        render: (_ variant: String, [IssueItem]) -> (subject: String, html: String, text: String)
    ) -> FrozenVariants {
        let topics = items.map { aliases.topics(of: $0.stored.comparison) }
        var variants: [IssueVariant] = []
        for choice in choices(readers: readers) {
            let chosen = zip(items, topics).filter { choice.admits($0.1) }.map(\.0)
            var variant = IssueVariant(
                id: choice.variantID, choice: choice, readers: readers[choice] ?? 0,
                comparisonIDs: chosen.map(\.stored.id))
            if !chosen.isEmpty {
                let rendered = render(choice.variantID, chosen)
                variant.subject = rendered.subject
                variant.html = rendered.html
                variant.text = rendered.text
                variant.hash = DraftHash.of(subject: rendered.subject, html: rendered.html, text: rendered.text)
            }
            variants.append(variant)
        }
        return FrozenVariants(
            variants: variants,
            selection: zip(items, topics).map { .init(id: $0.stored.id, topics: $1.sorted()) })
    }
}

/// What an approval refers to: SHA-256 over a draft's subject, HTML and text.
enum DraftHash {
    static func of(subject: String, html: String, text: String) -> String {
        var hasher = SHA256()
        for part in [subject, html, text] {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return Hex.encode(hasher.finalize())
    }
}

/// The approved bytes one recipient's message is made from: a frozen variant, or the whole
/// issue of a draft built before topics.
struct FrozenContent: Sendable {
    var subject: String
    var html: String
    var text: String

    init(_ issue: IssueRecord) {
        subject = issue.subject ?? ""
        html = issue.html ?? ""
        text = issue.text ?? ""
    }

    struct Skip: Error {
        var reason: String
    }

    /// What a subscriber with `choice` (resolved) is sent, or why nothing.
    static func of(_ issue: IssueRecord, for choice: TopicChoice) -> Result<FrozenContent, Skip> {
        guard let frozen = issue.variants else { return .success(FrozenContent(issue)) }
        switch frozen.assignment(for: choice) {
        case .skipped(let reason): return .failure(Skip(reason: reason))
        case .variant(let variant):
            guard let subject = variant.subject, let html = variant.html, let text = variant.text else {
                return .failure(Skip(reason: VariantAssignment.noComparisonReason))
            }
            var content = FrozenContent(issue)
            (content.subject, content.html, content.text) = (subject, html, text)
            return .success(content)
        }
    }
}
