import Foundation

/// Attributes quoted takes to a reviewer and a tool.
///
/// Each reviewer writes in a recognisable voice (the Builder opens on "the primitive" and "the
/// DX bet", the Skeptic on "direct competitors", the Futurist on "the thesis", the Founder on
/// "the buyer", the PM on "the job-to-be-done"), and each take talks about its own tool. Those
/// two signals are scored per take, then one assignment is chosen for the whole page so that
/// no (role, tool) slot is used twice and takes follow the site's habit of giving a reviewer's
/// two takes back to back, first tool first. Every result is marked inferred.
struct TakeAttribution {
    var tools: [Tool]

    func attribute(_ quotes: [QuotedTake]) -> [Take] {
        let roleScores = quotes.map { Self.roleLogLikelihoods($0.text) }
        let distinctive = distinctiveWords  // the same for every take: built once
        let toolScores = quotes.map { toolLogLikelihoods($0.text, distinctive: distinctive) }
        let slots = ReviewerRole.allCases.flatMap { role in tools.indices.map { Slot(role: role, tool: $0) } }
        let assignment: [Slot]
        if quotes.count <= slots.count, slots.count <= 16 {
            assignment = bestAssignment(slots: slots, roleScores: roleScores, toolScores: toolScores)
        } else {
            // More takes than slots: the page breaks the one-take-per-slot rule, so each take
            // gets its own best guess and none is dropped.
            assignment = quotes.indices.map { index in
                slots.max { lhs, rhs in
                    roleScores[index][lhs.role]! + toolScores[index][lhs.tool]
                        < roleScores[index][rhs.role]! + toolScores[index][rhs.tool]
                }!
            }
        }
        return zip(quotes, assignment).map { quote, slot in
            Take(
                tool: tools[slot.tool].name, role: slot.role, score: nil, verdict: nil, text: quote.text,
                roleInferred: true, toolInferred: true, line: quote.line)
        }
    }

    struct Slot: Hashable {
        var role: ReviewerRole
        var tool: Int
    }

    // MARK: The whole-page assignment

    /// Dynamic programming over (takes placed, slots used, previous slot): exact, and small
    /// (at most 2¹⁰ × 10 states per take for five reviewers and two tools).
    private func bestAssignment(
        slots: [Slot], roleScores: [[ReviewerRole: Double]], toolScores: [[Double]]
    ) -> [Slot] {
        struct State: Hashable {
            var used: UInt16
            var previous: Int  // index into slots, or -1 before the first take
        }
        var frontier: [State: (score: Double, path: [Int])] = [State(used: 0, previous: -1): (0, [])]
        for take in roleScores.indices {
            var next: [State: (score: Double, path: [Int])] = [:]
            for (state, best) in frontier {
                for (index, slot) in slots.enumerated() where state.used & (1 << index) == 0 {
                    let previous = state.previous >= 0 ? slots[state.previous] : nil
                    let score =
                        best.score + roleScores[take][slot.role]! + toolScores[take][slot.tool]
                        + Self.sequenceBonus(from: previous, to: slot)
                    let key = State(used: state.used | (1 << index), previous: index)
                    if next[key].map({ score > $0.score }) ?? true {
                        next[key] = (score, best.path + [index])
                    }
                }
            }
            frontier = next
        }
        // Ties are broken by path so that the same page always gives the same answer.
        let best = frontier.values.max { lhs, rhs in
            lhs.score != rhs.score ? lhs.score < rhs.score : lhs.path.lexicographicallyPrecedes(rhs.path)
        }!
        return best.path.map { slots[$0] }
    }

    /// The site lists a reviewer's takes together, first tool first, and mostly keeps the
    /// reviewers in their usual order.
    private static func sequenceBonus(from previous: Slot?, to slot: Slot) -> Double {
        guard let previous else { return slot.tool == 0 ? 0.5 : 0 }
        if previous.role == slot.role { return previous.tool < slot.tool ? 1.5 : -1 }
        let order = ReviewerRole.allCases
        var bonus = slot.tool == 0 ? 0.5 : 0
        if order.firstIndex(of: slot.role)! > order.firstIndex(of: previous.role)! { bonus += 0.3 }
        return bonus
    }

    // MARK: Role: the reviewer's voice

    /// Phrases each reviewer habitually uses; the opening words of a take weigh most, since
    /// each reviewer starts from the same question.
    static let roleCues: [ReviewerRole: [String]] = [
        .builder: [
            "primitive", "dx", "developer experience", "moment of truth", "weekend", "first ten minutes",
            "first-ten-minutes", "sdk", "api", "docs", "config", "integration", "code", "ergonomic",
        ],
        .skeptic: [
            "competitor", "direct competitors", "breaks", "kills", "12 months", "crowded", "caveat",
            "benchmark claims", "category is", "the scenario where", "what saves it", "overclaim",
        ],
        .futurist: [
            "thesis", "falsifiable", "by 20", "second-order", "trend", "on-time", "early",
            "dependency that has to hold",
            "compounds", "future", "transition", "bets on",
        ],
        .founder: [
            "buyer", "moat", "stress test", "budget", "revenue", "business", "ltv", "monetiz", "pricing", "margin",
            "spend", "customer", "value capture", "captures value",
        ],
        .pm: [
            "job-to-be-done", "job to be done", "onboarding", "completeness", "the gap", "product opinion", "user",
            "workflow", "jtbd", "shipped and what",
        ],
    ]

    static func roleLogLikelihoods(_ text: String) -> [ReviewerRole: Double] {
        let lowered = text.lowercased()
        let openingLength = 90
        var raw: [ReviewerRole: Double] = [:]
        for (role, cues) in roleCues {
            var score = 0.0
            for cue in cues {
                guard let first = firstWordStart(of: cue, in: lowered) else { continue }
                score += lowered.distance(from: lowered.startIndex, to: first) < openingLength ? 4 : 1
            }
            raw[role] = score
        }
        // Squared: the voice is the strongest evidence there is, and should outweigh the
        // ordering habits in `sequenceBonus` unless it is ambiguous.
        return logNormalized(raw, prior: 0.5).mapValues { $0 * 2 }
    }

    /// Where `cue` first occurs at the start of a word ("user" in "users", not in "reuse"; the
    /// cue may run on, as "competitor" into "competitors").
    private static func firstWordStart(of cue: String, in text: String) -> String.Index? {
        var searchFrom = text.startIndex
        while let range = text.range(of: cue, range: searchFrom..<text.endIndex) {
            if range.lowerBound == text.startIndex || !text[text.index(before: range.lowerBound)].isLetter {
                return range.lowerBound
            }
            searchFrom = text.index(after: range.lowerBound)
        }
        return nil
    }

    // MARK: Tool: what the take talks about

    /// Words that belong to one tool's name, tagline and description but not the other's,
    /// weighted by where they come from (the name counts most).
    private var distinctiveWords: [[String: Double]] {
        let profiles = tools.map { tool -> [String: Double] in
            var weights: [String: Double] = [:]
            for (text, weight) in [(tool.description, 1.0), (tool.tagline, 2.0), (tool.name, 4.0)] {
                for word in Self.words(text) { weights[word] = max(weights[word] ?? 0, weight) }
            }
            return weights
        }
        return profiles.enumerated().map { index, profile in
            profile.filter { word, _ in
                !profiles.enumerated().contains { $0.offset != index && $0.element[word] != nil }
            }
        }
    }

    func toolLogLikelihoods(_ text: String, distinctive: [[String: Double]]) -> [Double] {
        let words = Set(Self.words(text))
        let lowered = text.lowercased()
        var raw: [Int: Double] = [:]
        for (index, tool) in tools.enumerated() {
            var score = words.reduce(0.0) { $0 + (distinctive[index][$1] ?? 0) }
            if lowered.contains(tool.name.lowercased()) { score += 8 }
            raw[index] = score
        }
        // Doubled, like the voice: what a take talks about should outweigh where it stands.
        let normalized = Self.logNormalized(raw, prior: 1)
        return tools.indices.map { normalized[$0]! * 2 }
    }

    static func words(_ text: String) -> [String] {
        text.lowercased()
            .split { !($0.isLetter || $0.isNumber) }
            .map(String.init)
            .filter { $0.count >= 3 && !stopWords.contains($0) }
    }

    private static let stopWords: Set<String> = [
        "the", "and", "for", "that", "this", "with", "you", "your", "are", "but", "not", "its", "it's", "from",
        "have", "has", "was", "were", "will", "can", "all", "any", "one", "two", "more", "than", "what", "when",
        "which", "who", "into", "out", "about", "just", "they", "their", "them", "there", "here", "real", "actually",
        "model", "tool", "tools", "use", "ship", "skip", "because", "without", "only", "also", "every", "where",
    ]

    /// log((score + prior) / Σ(score + prior)): a likelihood that never rules anything out.
    static func logNormalized<Key: Hashable>(_ raw: [Key: Double], prior: Double) -> [Key: Double] {
        let total = raw.values.reduce(0) { $0 + $1 + prior }
        return raw.mapValues { log(($0 + prior) / total) }
    }
}
