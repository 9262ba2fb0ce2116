import Foundation

/// A claim turned into its opposite, by words: each clause is set beside the take it comes from
/// (the reviewer it names, else the take it shares most words with) and refused when, around a
/// word they share, the clause says one side of an opposite pair and the take the other ("fast"
/// where the take is "waiting", "survive" where it "vanishes"); when a negation is added or
/// removed ("leaky" where the take says it "doesn't leak"); or when the clause presents as a
/// strength what the take names as a worry. The words are a small general lexicon, not a list
/// per page: the meaning side is the LLM judge's.
struct InversionCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        guard !source.takes.isEmpty else { return [] }
        let alignment = ClaimAlignment(source: source)
        for claim in alignment.claims(text) {
            guard let take = alignment.take(for: claim.text, tool: claim.tool) else { continue }
            let takeClauses = Self.clauses(take.text)
            for clause in Self.clauses(claim.text) {
                guard let matched = Self.bestClause(for: clause, in: takeClauses, source: source) else { continue }
                let said = SummaryGuard.words(clause.lowercased())
                let taken = SummaryGuard.words(matched.lowercased())
                if let flip = Self.opposite(said, taken) ?? Self.negationFlip(said, taken, source: source) {
                    return [.inverted(said: flip.said, take: flip.take, role: take.role)]
                }
            }
            if let flip = Self.worryAsStrength(claim.text, take: take.text, source: source) {
                return [.inverted(said: flip.said, take: flip.take, role: take.role)]
            }
        }
        return []
    }

    /// A text cut into clauses: at punctuation inside a sentence and at words that turn or give a
    /// reason ("but", "though", "because").
    static func clauses(_ text: String) -> [String] {
        SummaryGuard.sentences(text).flatMap { sentence in
            sentence.split(
                separator: /[,;:—–()]|\s(?:but|though|although|while|whereas|yet|because|since|so|and then)\s/
                    .ignoresCase()
            ).map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        }
    }

    /// The take's clause that shares the most content words with `clause` (one at least).
    static func bestClause(for clause: String, in takeClauses: [String], source: GuardSource) -> String? {
        let stems = Set(ClaimAlignment.contentStems(clause, source: source))
        let scored = takeClauses.map { ($0, stems.intersection(ClaimAlignment.contentStems($0, source: source)).count) }
        guard let best = scored.max(by: { $0.1 < $1.1 }), best.1 >= 1 else { return nil }
        return best.0
    }

    /// Pairs of opposite sides; a word is on a side when it is one of its words or starts with one
    /// of its stems of six letters or more.
    static let opposites: [(Set<String>, Set<String>)] = [
        (["fast", "faster", "quick", "quickly", "instant", "instantly", "rapid", "speedy", "swift"],
         ["slow", "slower", "slowly", "sluggish", "waiting", "wait", "lag", "lags", "lagging"]),
        (["painless", "easy", "easier", "effortless", "smooth", "simple", "frictionless", "clear"],
         ["painful", "hard", "harder", "difficult", "confusing", "clunky", "complex", "murky", "long"]),
        (["strong", "stronger", "robust", "solid", "deep", "thick", "durable", "wide", "good", "well"],
         ["weak", "weaker", "thin", "fragile", "patchy", "shallow", "poor", "poorly"]),
        (["cheap", "cheaper", "inexpensive", "affordable"], ["expensive", "costly", "pricey"]),
        (["early", "ahead"], ["late", "behind"]),
        (["survive", "survives", "persist", "persists", "remain", "remains", "stays"],
         ["vanish", "vanishes", "disappear", "disappears", "lost"]),
        (["reliable", "dependable", "trustworthy"], ["unreliable", "patchy", "flaky"]),
        (["same", "unified", "single"], ["different", "separate", "several", "multiple"]),
        (["least", "less", "lower", "fewer"], ["most", "more", "higher", "greater"]),
        (["safe", "secure", "protected"], ["risk", "risky", "dies", "exposed"]),
        (["trust", "trusts", "trusted", "verified", "independently", "credible"],
         ["curated", "doubt", "doubts", "caveats", "fabricate"]),
        (["check", "checks", "hold", "holds"], ["fall", "falls", "apart", "collapse", "collapses"]),
    ]

    static func side(_ word: String, _ words: Set<String>) -> Bool {
        words.contains(word) || words.contains { $0.count >= 6 && word.hasPrefix($0) }
    }

    /// Indices of `words` whose stem is a content stem in `stems`.
    static func positions(of stem: String, in words: [String]) -> [Int] {
        words.indices.filter { words[$0].count >= 4 && ClaimAlignment.stem(words[$0]) == stem }
    }

    /// The content stems both lists share.
    static func shared(_ claim: [String], _ take: [String], source: GuardSource) -> [String] {
        let takeStems = Set(ClaimAlignment.contentStems(take.joined(separator: " "), source: source))
        var seen: Set<String> = []
        return ClaimAlignment.contentStems(claim.joined(separator: " "), source: source)
            .filter { takeStems.contains($0) && seen.insert($0).inserted }
    }

    /// One side of an opposite pair in the clause, the other in the take's clause, and neither
    /// clause on both sides.
    static func opposite(_ claim: [String], _ take: [String]) -> (said: String, take: String)? {
        for (one, other) in opposites + opposites.map({ ($0.1, $0.0) }) {
            guard let said = claim.first(where: { side($0, one) && !side($0, other) }),
                let taken = take.first(where: { side($0, other) && !side($0, one) }),
                !take.contains(where: { side($0, one) && !side($0, other) }),
                !claim.contains(where: { side($0, other) && !side($0, one) })
            else { continue }
            return (said, taken)
        }
        return nil
    }

    static let negations: Set<String> = [
        "not", "no", "never", "without", "nothing", "lacks", "lack", "lacking", "doesn't", "don't", "isn't",
        "aren't", "can't", "cannot", "won't", "didn't", "least",
    ]

    /// Whether the word at `index` has a negation among the two words before it.
    static func negated(_ words: [String], at index: Int) -> Bool {
        let before = max(0, index - 2)..<index
        return before.contains { position in
            let word = words[position].replacingOccurrences(of: "’", with: "'")
            // "rather than X", "instead of X"
            let pair = position > 0 && (words[position - 1], word) == ("rather", "than")
                || position > 0 && (words[position - 1], word) == ("instead", "of")
            return negations.contains(word) || pair
        }
    }

    static func negationFlip(_ claim: [String], _ take: [String], source: GuardSource) -> (said: String, take: String)? {
        for stem in shared(claim, take, source: source) {
            let inClaim = positions(of: stem, in: claim)
            let inTake = positions(of: stem, in: take)
            guard let first = inClaim.first, let taken = inTake.first else { continue }
            let claimNegated = inClaim.contains { negated(claim, at: $0) }
            let claimPlain = inClaim.contains { !negated(claim, at: $0) }
            let takeNegated = inTake.allSatisfy { negated(take, at: $0) }
            let takePlain = inTake.allSatisfy { !negated(take, at: $0) }
            func phrase(_ words: [String], _ index: Int) -> String {
                words[max(0, index - 3)...index].joined(separator: " ")
            }
            if claimPlain && !claimNegated && takeNegated { return (claim[first], phrase(take, taken)) }
            if claimNegated && !claimPlain && takePlain { return (phrase(claim, first), take[taken]) }
        }
        return nil
    }

    static let worryWords: Set<String> = [
        "breaks", "break", "kills", "gap", "risk", "worry", "worries", "fails", "weak", "weaker", "thin", "slow",
        "patchy", "concern", "problem", "degrade", "degrades", "vanishes", "confusing", "leaky",
    ]
    static let claimWorryWords: Set<String> = worryWords.union([
        "warns", "warn", "doubts", "doubt", "struggles", "struggle", "though", "although", "but", "yet", "despite",
        "worried", "fearing", "fears", "caveat", "caveats", "limits", "limit", "only", "narrowly", "unless",
    ])
    static let praise = ["for its", "thanks to", "credits", "praises", "because of its", "strength", "excels"]

    /// The clause praises ("ships X for its …") with no worry word, while the take's sentence
    /// that shares the most words with it names a worry ("the scenario where this breaks").
    static func worryAsStrength(_ clause: String, take: String, source: GuardSource) -> (said: String, take: String)? {
        let lower = clause.lowercased()
        let claim = SummaryGuard.words(lower)
        guard let said = praise.first(where: lower.contains), !claim.contains(where: claimWorryWords.contains) else {
            return nil
        }
        let stems = Set(ClaimAlignment.contentStems(clause, source: source))
        let sentences = SummaryGuard.sentences(take).map { sentence in
            (sentence, stems.intersection(ClaimAlignment.contentStems(sentence, source: source)).count)
        }
        guard let best = sentences.max(by: { $0.1 < $1.1 }), best.1 >= 2,
            let worry = SummaryGuard.words(best.0.lowercased()).first(where: worryWords.contains)
        else { return nil }
        return (said, worry)
    }
}
