import Foundation

/// What the verdict check does not read: one reviewer's verdict ("the Skeptic skips X" where the
/// Skeptic ships it), "N of M reviewers", "N% of the panel", "half the panel" and "most of the
/// panel skip". A reviewer's verdict is known from their take, or from a unanimous panel.
struct ReviewerVerdictCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        guard !source.takes.isEmpty else { return [] }
        for claim in ClaimAlignment(source: source).claims(text) {
            guard let panel = source.panels.first(where: { $0.tool == claim.tool }) else { continue }
            if let wrong = Self.reviewerVerdict(claim, panel: panel, source: source) ?? Self.counts(claim, panel: panel) {
                return [.verdictMismatch(stated: wrong, panel: panel.label)]
            }
        }
        return []
    }

    static let shipWords: Set<String> = ["ship", "ships", "shipped", "shipping", "backs", "backed", "wins", "win"]
    static let skipWords: Set<String> = ["skip", "skips", "skipped", "skipping"]

    /// The one reviewer a clause names with one verdict, against that reviewer's own.
    static func reviewerVerdict(_ claim: ClaimAlignment.Claim, panel: GuardSource.Panel, source: GuardSource) -> String? {
        let roles = ReviewerRole.allCases.filter { claim.words.contains($0.rawValue.lowercased()) }
        guard roles.count == 1, let role = roles.first else { return nil }
        let ships = claim.words.filter(shipWords.contains)
        let skips = claim.words.filter(skipWords.contains)
        guard ships.isEmpty != skips.isEmpty else { return nil }
        let stated: Verdict = ships.isEmpty ? .skip : .ship
        guard let known = source.verdicts[claim.tool]?[role.rawValue] ?? (panel.unanimousShip == true ? .ship
            : panel.unanimousSkip == true ? .skip : nil), known != stated
        else { return nil }
        return "the \(role.rawValue) \((ships + skips)[0])"
    }

    static let numbers = ["one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6]

    static func counts(_ claim: ClaimAlignment.Claim, panel: GuardSource.Panel) -> String? {
        let lower = claim.words.joined(separator: " ")
        let saysSkip = claim.words.contains(where: skipWords.contains)
        // "three of five reviewers", "4 of 5"
        if let match = lower.firstMatch(of: /\b(\d+|one|two|three|four|five|six) of (?:the )?(\d+|one|two|three|four|five|six)\b/),
            let part = Int(match.1) ?? numbers[String(match.1)], let whole = Int(match.2) ?? numbers[String(match.2)]
        {
            let fits: Bool
            if let ship = panel.ship, let skip = panel.skip {
                fits = whole == ship + skip && part == (saysSkip ? skip : ship)
            } else if let percent = panel.shipPercent, whole > 0 {
                fits = (saysSkip ? 100 - percent : percent) == part * 100 / whole
            } else {
                fits = true
            }
            if !fits { return String(match.0) }
        }
        // "75% of the panel"
        if let match = claim.text.lowercased().firstMatch(of: /(\d+)\s?% of (?:the )?(?:panel|reviewers)/),
            let percent = Int(match.1), let share = panel.shipPercent ?? panel.ship.flatMap({ ship in
                panel.skip.map { ship + $0 > 0 ? ship * 100 / (ship + $0) : 0 }
            }), percent != (saysSkip ? 100 - share : share)
        {
            return String(match.0)
        }
        // "half the panel"
        if lower.contains("half the panel") || lower.contains("half of the panel") || lower.contains("half the reviewers"),
            panel.majority != nil
        {
            return "half"
        }
        // "most of the panel skip", "skipped by most reviewers"
        if let match = lower.firstMatch(of: /\b(most|majority) of (?:the )?(?:panel|reviewers)|\bmost reviewers\b/),
            let majority = panel.majority
        {
            let ships = claim.words.contains(where: shipWords.contains)
            if saysSkip != ships, (saysSkip ? Verdict.skip : .ship) != majority { return String(match.0) }
        }
        return nil
    }
}
