import Foundation

/// A stated verdict or count that the panel's figures contradict.
struct VerdictCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.verdictMismatches(text, source: source)
    }
}

extension SummaryGuard {
    /// A stated verdict must agree with the counts: "unanimous" only when nobody dissented,
    /// "split" only when somebody did, "N reviewers ship" only with N ship votes, "X% ship"
    /// only with that share, and a tool "gets a skip" only when skip is not the minority.
    static func verdictMismatches(_ text: String, source: GuardSource) -> [GuardRejection] {
        verdictMismatches(CheckedText(text), source: source)
    }

    static func verdictMismatches(_ checked: CheckedText, source: GuardSource) -> [GuardRejection] {
        let panels = source.panels
        for sentence in checked.sentences {
            let lower = sentence.lowercased()
            let namedTools = source.toolMaterial.isEmpty
                ? panels.map(\.tool).filter { lower.contains($0.lowercased()) } : toolsNamed(in: sentence, source: source)
            let named = panels.filter { namedTools.contains($0.tool) }
            let about = named.isEmpty ? panels : named
            let unanimity = ["unanimous", "unanimously", "every reviewer", "all five", "all reviewers", "everyone"]
            if let word = unanimity.first(where: lower.contains) {
                let says: Verdict? = lower.contains("skip") ? .skip : lower.contains("ship") ? .ship : nil
                func unanimous(_ panel: GuardSource.Panel) -> Bool {
                    switch says {
                    case .skip: panel.unanimousSkip == true
                    case .ship: panel.unanimousShip == true
                    case nil: panel.unanimousShip == true || panel.unanimousSkip == true
                    }
                }
                // A claim about the panel with no tool named is a claim about both tools.
                let holds = named.isEmpty ? about.allSatisfy(unanimous) : about.contains(where: unanimous)
                if !holds {
                    return [.verdictMismatch(stated: word, panel: about.map(\.label).joined(separator: "; "))]
                }
            }
            if let word = ["split", "divided"].first(where: { containsWord(lower, $0) }) {
                let known = about.filter { $0.unanimousShip != nil }
                if !known.isEmpty && known.allSatisfy({ $0.unanimousShip == true || $0.unanimousSkip == true }) {
                    return [.verdictMismatch(stated: word, panel: known.map(\.label).joined(separator: "; "))]
                }
            }
            // "4 ship", "four reviewers ship", "3 of 5 say skip", "80% ship"
            let pattern =
                #"\b(\d+|one|two|three|four|five)(%)?\s+(?:of\s+(?:the\s+)?\d+\s+|out of\s+\d+\s+)?(?:reviewers?\s+|votes?\s+|panelists\s+)?(?:say\s+|said\s+|voted?\s+(?:to\s+)?|chose\s+)?(ship|skip)"#
            // A number in a tool's name ("SmolVLM 2.5 ships") is not a count.
            let masked = masking(source.toolNames, in: lower, with: { _ in "toolname" })
            if let regex = try? NSRegularExpression(pattern: pattern) {
                let lower = masked
                let range = NSRange(lower.startIndex..., in: lower)
                for match in regex.matches(in: lower, range: range) {
                    let countText = String(lower[Range(match.range(at: 1), in: lower)!])
                    let isPercent = match.range(at: 2).location != NSNotFound
                    let verdict = String(lower[Range(match.range(at: 3), in: lower)!])
                    guard let count = Int(countText) ?? spelled[countText] else { continue }
                    let fits = about.contains { panel in
                        if isPercent {
                            return panel.shipPercent.map { verdict == "ship" ? $0 == count : 100 - $0 == count }
                                ?? false
                        }
                        return (verdict == "ship" ? panel.ship : panel.skip) == count
                    }
                    if !fits {
                        let stated = String(lower[Range(match.range, in: lower)!])
                        return [.verdictMismatch(stated: stated, panel: about.map(\.label).joined(separator: "; "))]
                    }
                }
            }
            // One tool named with a bare verdict ("X gets a skip", "the panel ships X") that is
            // the minority view.
            if named.count == 1, let panel = named.first, let majority = panel.majority {
                let saysShip = ["panel ships", "gets a ship", "earns a ship", "verdict is ship", "is a ship"]
                    .contains(where: lower.contains)
                let saysSkip = ["panel skips", "gets a skip", "earns a skip", "verdict is skip", "is a skip"]
                    .contains(where: lower.contains)
                if saysShip && majority == .skip || saysSkip && majority == .ship {
                    return [
                        .verdictMismatch(stated: saysShip ? "ship" : "skip", panel: panel.label)
                    ]
                }
            }
            // "The panel doubts X" for a tool every reviewer ships, "the panel loves X" for one every
            // reviewer skips: the reviewers as a body, against their own votes.
            if named.count == 1, let panel = named.first,
                ["the panel", "reviewers", "the reviewers", "panelists"].contains(where: lower.contains)
            {
                // "the Skeptic" is a reviewer, not a mood.
                let sentenceWords = words(lower.replacingOccurrences(of: "the skeptic", with: "the reviewer"))
                func says(_ prefixes: [String]) -> String? {
                    sentenceWords.first { word in prefixes.contains(where: word.hasPrefix) }
                }
                let doubting = ["skeptic", "sceptic", "doubt", "unconvinced", "reject", "wary", "critic"]
                let endorsing = ["endorse", "love", "enthusias", "embrace", "champion"]
                if panel.unanimousShip == true, let word = says(doubting) {
                    return [.verdictMismatch(stated: word, panel: panel.label)]
                }
                if panel.unanimousSkip == true, let word = says(endorsing) {
                    return [.verdictMismatch(stated: word, panel: panel.label)]
                }
            }
        }
        return []
    }

    static let spelled = ["one": 1, "two": 2, "three": 3, "four": 4, "five": 5]
}
