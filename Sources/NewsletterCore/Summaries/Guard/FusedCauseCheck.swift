import Foundation

/// A cause nobody gave: a causal connective ("because", "due to", "thanks to", "… is why")
/// joining a point from one reviewer's take to a point from another's. The cause's side ends at a
/// contrast ("despite", "though", "but"). Each side belongs to the take it names, else to
/// the takes that alone have the most of its content words. Refused when the cause comes from a
/// take the effect does not.
struct FusedCauseCheck: SummaryCheck {
    static let connectives = [
        // Not "since" or "so": as often about time or degree as about a cause.
        "because of", "because", "due to", "thanks to", "owing to", "is why", "as a result of",
    ]
    static let contrasts = [" despite ", " though ", " although ", " but ", " yet ", " while ", " whereas ", ";"]

    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        guard !source.takes.isEmpty else { return [] }
        let alignment = ClaimAlignment(source: source)
        for claim in alignment.claims(text) {
            let lower = " " + claim.text.lowercased() + " "
            guard let takes = source.takes[claim.tool], takes.count > 1,
                let found = Self.connectives.lazy.compactMap({ word in
                    lower.range(of: " \(word) ").map { (word, $0) }
                }).first
            else { continue }
            let (connective, range) = found
            // "X because Y" and "Because Y, X"; "Y, which is why X".
            var effect = String(lower[..<range.lowerBound])
            var cause = String(lower[range.upperBound...])
            if connective.hasSuffix("why") { swap(&effect, &cause) }
            if effect.trimmingCharacters(in: .whitespaces).isEmpty, let comma = cause.firstIndex(of: ",") {
                effect = String(cause[comma...])
                cause = String(cause[..<comma])
            }
            cause = Self.untilContrast(cause)
            let causeOwners = Self.owners(cause, takes: takes, source: source)
            let effectOwners = Self.owners(effect, takes: takes, source: source)
            let foreign = causeOwners.subtracting(effectOwners)
            if !effectOwners.isEmpty, !foreign.isEmpty {
                let roles = (effectOwners.sorted() + foreign.sorted())
                return [.fusedCause(connective: connective, roles: roles)]
            }
        }
        return []
    }

    static func untilContrast(_ text: String) -> String {
        let cut = contrasts.compactMap { text.range(of: $0)?.lowerBound }.min()
        return cut.map { String(text[..<$0]) } ?? text
    }

    /// The roles of the takes `part` draws on most: the one it names, else those that alone
    /// (among this tool's takes) have the most of its content words.
    static func owners(_ part: String, takes: [GuardSource.TakeText], source: GuardSource) -> Set<String> {
        let words = SummaryGuard.words(part)
        let named = Set(takes.map(\.role).filter { words.contains($0.lowercased()) })
        if !named.isEmpty { return named }
        let takeStems = takes.map { Set(ClaimAlignment.contentStems($0.text, source: source)) }
        var counts: [String: Int] = [:]
        for stem in Set(ClaimAlignment.contentStems(part, source: source)).subtracting(ClaimAlignment.verdictStems) {
            let having = takes.indices.filter { takeStems[$0].contains(stem) }
            if having.count == 1 { counts[takes[having[0]].role, default: 0] += 1 }
        }
        guard let most = counts.values.max() else { return [] }
        return Set(counts.filter { $0.value == most }.keys)
    }
}
