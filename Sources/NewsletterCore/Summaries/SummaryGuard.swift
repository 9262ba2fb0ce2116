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

    /// A stable name for counting failures by kind.
    public var kind: String {
        switch self {
        case .empty: "empty"
        case .tooShort: "too-short"
        case .tooLong: "too-long"
        case .unsupportedNumber: "unsupported-number"
        case .unsupportedName: "unsupported-name"
        case .repetition: "repetition"
        case .incompleteSentence: "incomplete-sentence"
        case .notProse: "not-prose"
        case .leakedInstructions: "leaked-instructions"
        case .verdictMismatch: "verdict-mismatch"
        case .offTopic: "off-topic"
        case .ungrounded: "ungrounded"
        case .misattributed: "misattributed"
        case .copiedFromPage: "copied"
        }
    }

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
        }
    }
}

/// What a summary may draw on: the comparison's takes, names and panel figures, and the
/// instructions it must not echo.
public struct GuardSource: Sendable {
    public struct Panel: Sendable, Equatable {
        public var tool: String
        public var ship: Int?
        public var skip: Int?
        public var shipPercent: Int?

        /// True when every counted reviewer said ship (or skip).
        var unanimousShip: Bool? {
            if let ship, let skip { return ship + skip > 0 ? skip == 0 : nil }
            return shipPercent.map { $0 == 100 }
        }
        var unanimousSkip: Bool? {
            if let ship, let skip { return ship + skip > 0 ? ship == 0 : nil }
            return shipPercent.map { $0 == 0 }
        }
        var majority: Verdict? {
            if let ship, let skip, ship != skip { return ship > skip ? .ship : .skip }
            if let shipPercent, shipPercent != 50 { return shipPercent > 50 ? .ship : .skip }
            return nil
        }
        var label: String {
            if let ship, let skip { return "\(tool): \(ship) ship / \(skip) skip" }
            if let shipPercent { return "\(tool): \(shipPercent)% ship" }
            return "\(tool): no counts"
        }
    }

    /// Everything the summary may quote from, as one text.
    public var text: String
    public var toolNames: [String]
    public var panels: [Panel]
    /// The system and user instructions sent with the takes (not the takes themselves).
    public var instructions: String
    /// Each tool's own material, by name: its tagline, description, pricing, category, the takes on
    /// it and its panel figures. Empty: attribution is not checked.
    public var toolMaterial: [String: String]
    /// What belongs to neither tool alone: the title and the reviewers' roles.
    public var sharedMaterial: String

    public init(
        text: String, toolNames: [String], panels: [Panel], instructions: String, toolMaterial: [String: String] = [:],
        sharedMaterial: String = ""
    ) {
        self.text = text
        self.toolNames = toolNames
        self.panels = panels
        self.instructions = instructions
        self.toolMaterial = toolMaterial
        self.sharedMaterial = sharedMaterial
    }

    /// The takes, title, tool names, roles and panel figures of a comparison.
    public init(_ comparison: Comparison, instructions: String) {
        let panels = comparison.tools.map { tool -> Panel in
            let takes = comparison.takes.filter { $0.tool == tool.name }
            let counted = takes.contains { $0.verdict != nil }
            return Panel(
                tool: tool.name,
                ship: tool.shipVotes ?? (counted ? takes.filter { $0.verdict == .ship }.count : nil),
                skip: tool.skipVotes ?? (counted ? takes.filter { $0.verdict == .skip }.count : nil),
                shipPercent: tool.panelShipPercent)
        }
        var parts = [comparison.title] + comparison.tools.map(\.name) + ReviewerRole.allCases.map(\.rawValue)
        // What the page says of each tool is a fact a summary may use as much as the takes (the
        // model is shown the tagline): "Docs that rewrite themselves" supports "rewrites".
        parts += comparison.tools.flatMap { [$0.tagline, $0.description, $0.category, $0.pricing].compactMap { $0 } }
        parts += comparison.takes.map(\.text)
        for panel in panels {
            parts += [panel.ship, panel.skip, panel.shipPercent, panel.shipPercent.map { 100 - $0 }]
                .compactMap { $0.map(String.init) }
            if let ship = panel.ship, let skip = panel.skip { parts.append(String(ship + skip)) }
        }
        parts += comparison.takes.compactMap { $0.score.map(String.init) }
        var material: [String: String] = [:]
        for (tool, panel) in zip(comparison.tools, panels) {
            var own = [tool.name, tool.tagline, tool.description, tool.category, tool.pricing, tool.entry]
                .compactMap { $0 }
            for take in comparison.takes where take.tool == tool.name {
                own.append(take.text)
                if let score = take.score { own.append(String(score)) }
            }
            own += [panel.ship, panel.skip, panel.shipPercent, panel.shipPercent.map { 100 - $0 }]
                .compactMap { $0.map(String.init) }
            if let ship = panel.ship, let skip = panel.skip { own.append(String(ship + skip)) }
            material[tool.name] = own.joined(separator: "\n")
        }
        self.init(
            text: parts.joined(separator: "\n"), toolNames: comparison.tools.map(\.name), panels: panels,
            instructions: instructions, toolMaterial: material,
            sharedMaterial: ([comparison.title] + ReviewerRole.allCases.map(\.rawValue)).joined(separator: "\n"))
    }
}

/// The checks an abstractive summary must pass before it can reach a subscriber. Pure
/// functions of the text and its source, so each one is tested on crafted outputs.
public struct SummaryGuard: Sendable {
    public var minimumWords = 12
    public var maximumWords = 110
    /// Off for verbatim sentences of the takes: two reviewers may open alike, and that is not a loop.
    public var checksRepeatedRuns = true
    /// The most content words (in %) that may be absent from the takes.
    public var maximumUngroundedShare = 25

    public init(minimumWords: Int = 12, maximumWords: Int = 110) {
        self.minimumWords = minimumWords
        self.maximumWords = maximumWords
    }

    /// A reply cut off by the token limit, or running past the sentences asked for, is kept up
    /// to its last complete sentence (at most `maximumSentences`), when enough words remain.
    /// Dropping words cannot make a summary less faithful; everything kept is still checked.
    public func trimmed(_ reply: String, maximumSentences: Int = 3) -> String {
        let text = reply.trimmingCharacters(in: .whitespacesAndNewlines)
        let sentences = Self.sentences(text)
        let complete = sentences.filter { sentence in
            var end = sentence
            while let last = end.last, "\"”’')".contains(last) { end.removeLast() }
            return end.last.map { ".!?".contains($0) } ?? false
        }
        // Only whole leading sentences: a fragment in the middle means the text is not prose.
        guard complete.count >= 1, sentences.starts(with: complete) else { return text }
        let kept = complete.prefix(maximumSentences).joined(separator: " ")
        return Self.words(kept).count >= minimumWords ? kept : text
    }

    /// Every reason to refuse `output`, most basic first; empty means accepted.
    public func check(_ output: String, against source: GuardSource) -> [GuardRejection] {
        let text = output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { return [.empty] }
        var reasons: [GuardRejection] = []
        reasons += Self.leakedInstructions(text, source: source)
        reasons += Self.prose(text)
        reasons += length(text)
        reasons += Self.completeSentences(text)
        // A long tool name said twice is not a loop: each mention becomes a word of its own.
        reasons +=
            checksRepeatedRuns
            ? Self.repetition(Self.masking(source.toolNames, in: text, with: { "toolmention\($0)" }))
            : Self.repeatedSentences(text)
        reasons += Self.unsupportedNumbers(text, source: source)
        reasons += Self.unsupportedNames(text, source: source)
        reasons += Self.verdictMismatches(text, source: source)
        reasons += Self.offTopic(text, source: source)
        reasons += Self.ungrounded(text, source: source, maximumShare: maximumUngroundedShare)
        reasons += Self.misattributed(text, source: source)
        return reasons
    }

    /// The checks for one tool's sentences, from a provider that writes one tool at a time: half
    /// the length bounds, and that tool named rather than both.
    public var partChecks: SummaryGuard {
        var part = self
        part.minimumWords = max(6, minimumWords / 2)
        part.maximumWords = max(part.minimumWords + 1, maximumWords / 2 + 5)
        return part
    }

    /// Every reason to refuse `output` as the sentences about `tool`; the joined summary is
    /// checked again as a whole.
    public func checkPart(_ output: String, about tool: String, against source: GuardSource) -> [GuardRejection] {
        var reasons = partChecks.check(output, against: source).filter { $0.kind != "off-topic" }
        if !output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
            !Self.toolsNamed(in: output, source: source).contains(tool)
        {
            reasons.append(.offTopic(missing: [tool]))
        }
        return reasons
    }

    /// `text`'s sentences in the order a one-sentence part should try them: those in the model's
    /// own words first, then those copied from `material` (ten words or more in a row of it,
    /// which `copiedRun` then refuses), each in the reply's order. `[text]` when it is not whole
    /// sentences (the checks then refuse it).
    public static func candidateSentences(_ text: String, copiedFrom material: String) -> [String] {
        let all = sentences(text)
        let complete = all.filter { sentence in
            var end = sentence
            while let last = end.last, "\"”’')".contains(last) { end.removeLast() }
            return end.last.map { ".!?".contains($0) } ?? false
        }
        guard !all.isEmpty, complete.count == all.count else { return [text] }
        func copied(_ sentence: String) -> Bool { copiedRun(sentence, from: material) != nil }
        return all.filter { !copied($0) } + all.filter(copied)
    }

    /// The first run of ten words or more in a row that `sentence` copies from `material`, if any.
    public static func copiedRun(_ sentence: String, from material: String) -> String? {
        let source = " " + words(material.lowercased()).joined(separator: " ") + " "
        let list = words(sentence.lowercased())
        guard list.count >= 10 else { return nil }
        for start in 0...(list.count - 10) {
            let run = list[start..<(start + 10)].joined(separator: " ")
            if source.contains(" " + run + " ") { return run }
        }
        return nil
    }

    func length(_ text: String) -> [GuardRejection] {
        let count = Self.words(text).count
        if count < minimumWords { return [.tooShort(words: count, minimum: minimumWords)] }
        if count > maximumWords { return [.tooLong(words: count, maximum: maximumWords)] }
        return []
    }

    // MARK: - The checks

    /// Chat tokens, role labels, assistant boilerplate, and runs of the prompt's own words.
    static func leakedInstructions(_ text: String, source: GuardSource) -> [GuardRejection] {
        let lower = text.lowercased()
        let sourceLower = source.text.lowercased()
        let outputPhrase = " " + words(lower).joined(separator: " ") + " "
        let sourcePhrase = " " + words(sourceLower).joined(separator: " ") + " "
        for marker in leakMarkers {
            // Word markers match whole words ("api cannot" is not "i cannot"); the others as written.
            let isWords = marker.allSatisfy { $0.isLetter || $0 == " " || $0 == "'" }
            let found =
                isWords
                ? outputPhrase.contains(" \(marker) ") && !sourcePhrase.contains(" \(marker) ")
                : lower.contains(marker) && !sourceLower.contains(marker)
            if found { return [.leakedInstructions(marker)] }
        }
        // Six words in a row from the instructions that the takes do not also contain: the
        // model is reciting its prompt. Tool names are masked on both sides: naming both tools
        // is what a summary should do, even when the prompt names them too.
        let instructionWords = words(masking(source.toolNames, in: source.instructions, with: { _ in "promptname" }).lowercased())
        let sourceWords = " " + words(sourceLower).joined(separator: " ") + " "
        let outputWords = " " + words(masking(source.toolNames, in: text, with: { _ in "replyname" }).lowercased()).joined(separator: " ") + " "
        if instructionWords.count >= 6 {
            for start in 0...(instructionWords.count - 6) {
                let run = instructionWords[start..<(start + 6)].joined(separator: " ")
                if outputWords.contains(" \(run) ") && !sourceWords.contains(" \(run) ") {
                    return [.leakedInstructions(run)]
                }
            }
        }
        return []
    }

    static let leakMarkers = [
        "<|", "|>", "<takes>", "</takes>", "[inst]", "[/inst]", "<s>", "</s>", "system:", "user:", "assistant:",
        "as an ai", "as a language model", "language model", "i cannot", "i can't", "i'm sorry", "i am sorry",
        "ignore previous", "ignore all previous", "previous instructions", "my instructions", "the instructions",
        "here is a summary", "here's a summary", "summary:", "sure,", "certainly!", "the summary is",
        "the summary", "this summary", "in summary", "the takes", "the comparison is",
        // The framing around the takes, which a per-tool reply may paraphrase around the tool's
        // name (the name is masked in the six-word check).
        "the block below", "in the block", "quotations to summarize",
        // "the takes" is the prompt's word for them; a reply that cites "the panel's takes" is
        // talking about its input (Qwen2.5-Coder-1.5B on the SmolLM3 page, panel-v3).
        "panel's takes", "panel’s takes", "reviewers takes", "reviewer's takes", "reviewer’s takes",
    ]

    /// Bullets, headings, markdown emphasis, code.
    static func prose(_ text: String) -> [GuardRejection] {
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("- ") || trimmed.hasPrefix("* ") || trimmed.hasPrefix("#") || trimmed.hasPrefix("• ")
                || trimmed.range(of: #"^\d+[.)] "#, options: .regularExpression) != nil
            {
                return [.notProse(String(trimmed.prefix(40)))]
            }
        }
        for marker in ["**", "```", "__", "|---"] where text.contains(marker) {
            return [.notProse(marker)]
        }
        return []
    }

    /// The text ends a sentence, and every sentence starts like one and has a few words.
    static func completeSentences(_ text: String) -> [GuardRejection] {
        let closing: Set<Character> = ["\"", "”", "’", "'", ")"]
        var end = text
        while let last = end.last, closing.contains(last) { end.removeLast() }
        if end.hasSuffix("...") || end.hasSuffix("…") || !(end.last.map { ".!?".contains($0) } ?? false) {
            return [.incompleteSentence(String(text.suffix(60)))]
        }
        for sentence in sentences(text) {
            let first = sentence.first { !"\"“‘'(".contains($0) }
            guard let first, first.isUppercase || first.isNumber else {
                return [.incompleteSentence(String(sentence.prefix(40)))]
            }
            if words(sentence).count < 3 { return [.incompleteSentence(sentence)] }
        }
        return []
    }

    /// A five-word run said twice, a sentence said twice, or one word three times in a row.
    static func repetition(_ text: String) -> [GuardRejection] {
        let list = words(text.lowercased())
        for index in list.indices.dropFirst(2) where list[index] == list[index - 1] && list[index] == list[index - 2] {
            return [.repetition(list[index])]
        }
        var seen: Set<String> = []
        if list.count >= 5 {
            for start in 0...(list.count - 5) {
                let run = list[start..<(start + 5)].joined(separator: " ")
                if !seen.insert(run).inserted { return [.repetition(run)] }
            }
        }
        return repeatedSentences(text)
    }

    static func repeatedSentences(_ text: String) -> [GuardRejection] {
        var sentencesSeen: Set<String> = []
        for sentence in sentences(text) where !sentencesSeen.insert(sentence.lowercased()).inserted {
            return [.repetition(sentence)]
        }
        return []
    }

    /// Every token with a digit in it must occur in the source: pure numbers compared as
    /// numbers (`1,000` = `1000`, `80%` = `80`), others (`3B`, `GPT-4o`) as written.
    static func unsupportedNumbers(_ text: String, source: GuardSource) -> [GuardRejection] {
        let sourceTokens = tokens(source.text)
        let sourceNumbers = Set(sourceTokens.compactMap(normalizedNumber))
        let sourceLower = Set(sourceTokens.map { $0.lowercased() })
        for token in tokens(text) where token.contains(where: \.isNumber) {
            if let number = normalizedNumber(token) {
                if !sourceNumbers.contains(number) { return [.unsupportedNumber(token)] }
            } else if !sourceLower.contains(token.lowercased()) {
                return [.unsupportedNumber(token)]
            }
        }
        return []
    }

    /// Capitalised words must be in the source; a sentence's first word may also be an
    /// ordinary word that is capitalised only because it starts the sentence.
    static func unsupportedNames(_ text: String, source: GuardSource) -> [GuardRejection] {
        let sourceTokens = Set(tokens(source.text))
        let sourceLowerWords = Set(words(source.text.lowercased()))
        for sentence in sentences(text) {
            for (position, token) in tokens(sentence).enumerated() {
                guard token.contains(where: \.isUppercase), !token.contains(where: \.isNumber) else { continue }
                if sourceTokens.contains(token) || source.text.contains(token) { continue }
                // "AI-powered": a compound of a known name and ordinary words.
                let parts = token.split(separator: "-").map(String.init)
                if parts.count > 1,
                    parts.allSatisfy({ !$0.contains(where: \.isUppercase) || source.text.contains($0) })
                {
                    continue
                }
                let lower = token.lowercased()
                if position == 0 && (commonSentenceStarts.contains(lower) || sourceLowerWords.contains(lower)) {
                    continue
                }
                if token == "I" { continue }
                return [.unsupportedName(token)]
            }
        }
        return []
    }

    static let commonSentenceStarts: Set<String> = [
        "the", "this", "that", "these", "those", "both", "each", "it", "its", "they", "their", "while", "whereas",
        "however", "but", "and", "overall", "panel", "reviewers", "reviewer", "most", "all", "some", "one", "two",
        "neither", "either", "for", "in", "on", "with", "without", "although", "though", "still", "yet", "so",
        "meanwhile", "by", "as", "at", "if", "when", "where", "a", "an", "its", "only", "even", "many", "few",
        "several", "critics", "supporters", "opinions", "views", "verdicts", "unlike", "like", "compared",
        "despite", "after", "before", "because", "since", "given", "whether", "then", "also", "instead", "not", "no",
        "there", "here", "what", "which", "who", "how", "why", "nobody", "everyone",
    ]

    /// A stated verdict must agree with the counts: "unanimous" only when nobody dissented,
    /// "split" only when somebody did, "N reviewers ship" only with N ship votes, "X% ship"
    /// only with that share, and a tool "gets a skip" only when skip is not the minority.
    static func verdictMismatches(_ text: String, source: GuardSource) -> [GuardRejection] {
        let panels = source.panels
        for sentence in sentences(text) {
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
            if let regex = try? NSRegularExpression(pattern: pattern) {
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

    /// Every tool must be named: in full, or by a distinctive first word ("Vercel", "Hugging").
    static func offTopic(_ text: String, source: GuardSource) -> [GuardRejection] {
        let lower = text.lowercased()
        let missing = source.toolNames.filter { name in
            let name = name.lowercased()
            if lower.contains(name) { return false }
            let first = name.split(separator: " ").first.map(String.init) ?? name
            return !(first.count >= 4 && first != name && lower.contains(first))
        }
        return missing.isEmpty ? [] : [.offTopic(missing: missing)]
    }

    /// Content words (four letters or more, not function words) must mostly come from the
    /// takes, compared by their first five letters so "priced" matches "pricing". A small model
    /// that drifts into "the world of the internet" fails here even when every name is right.
    static func ungrounded(_ text: String, source: GuardSource, maximumShare: Int) -> [GuardRejection] {
        func stem(_ word: String) -> String { String(word.prefix(5)) }
        let sourceStems = Set(words(source.text.lowercased()).map(stem))
        let content = words(text.lowercased()).filter { $0.count >= 4 && !functionWords.contains($0) }
        guard content.count >= 5 else { return [] }
        let missing = content.filter { !sourceStems.contains(stem($0)) }
        let share = missing.count * 100 / content.count
        guard share > maximumShare else { return [] }
        var examples: [String] = []
        for word in missing where !examples.contains(word) && examples.count < 4 { examples.append(word) }
        return [.ungrounded(share: share, examples: examples)]
    }

    static let functionWords: Set<String> = [
        "that", "this", "these", "those", "with", "from", "into", "onto", "over", "under", "about", "than", "then",
        "they", "them", "their", "there", "here", "what", "which", "while", "when", "where", "whose", "will", "would",
        "could", "should", "have", "has", "been", "being", "were", "also", "only", "both", "each", "more", "most",
        "much", "many", "some", "such", "very", "even", "just", "like", "does", "doesn't", "isn't", "it's", "its",
        "panel", "panel's", "reviewer", "reviewers", "tool", "tools", "says", "said", "think", "thinks", "see", "sees",
        "however", "although", "though", "because", "whereas", "between", "other", "another", "overall", "make",
        "makes", "made", "well", "still", "whether", "either", "neither",
        // The words a summary of a panel is made of, whatever the takes say.
        "lean", "leans", "toward", "towards", "name", "names", "named", "praise", "praised", "praises", "liked",
        "likes", "dislike", "dislikes", "worry", "worries", "worried", "concern", "concerns", "concerned", "agree",
        "agrees", "disagree", "disagrees", "favor", "favors", "favour", "favours", "split", "divided", "majority",
        "verdict", "verdicts", "mostly", "ship", "ships", "shipping", "shipped", "skip", "skips", "skipped",
        "criticized", "criticised", "criticizes", "doubt", "doubts", "view", "views", "argue", "argues", "notes",
        "warns", "warned", "calls", "called", "rival", "rivals", "strength", "strengths", "weakness", "weaknesses",
        "risk", "risks", "benefit", "benefits", "mixed", "positive", "negative", "skeptical", "sceptical",
        "making", "allowing", "allows", "easier", "helps", "offers", "provides", "useful",
    ]

    static let spelled = ["one": 1, "two": 2, "three": 3, "four": 4, "five": 5]

    // MARK: - Attribution

    /// The tools a sentence is about: named in full (a trailing "(v0)" may be left out), or by a
    /// first word of four letters or more that the other tool's material does not use: "Vercel"
    /// names Vercel AI Gateway (v0), but "Hugging" does not name Hugging Face Inference Providers
    /// Hub on a page where SmolVLM-3B is "from Hugging Face".
    static func toolsNamed(in sentence: String, source: GuardSource) -> [String] {
        let lower = sentence.lowercased()
        return source.toolNames.filter { tool in
            let name = tool.lowercased()
            let bare = name.replacingOccurrences(of: #"\s*\([^)]*\)$"#, with: "", options: .regularExpression)
            if lower.contains(name) || (bare.count >= 4 && lower.contains(bare)) { return true }
            guard let first = words(name).first, first.count >= 4, first != name, containsWord(lower, first) else {
                return false
            }
            return !source.toolNames.contains { other in
                other != tool && words((source.toolMaterial[other] ?? other).lowercased()).contains(first)
            }
        }
    }

    /// A sentence that names one tool must not carry what only the other tool's material says: a
    /// number or a name from it, or two of its words that the named tool's material lacks ("SmolVLM-3B
    /// has a 500k model catalog" when the catalog is the Hub's). A sentence that names both as
    /// alike ("both", "each") must hold for each of them. Words that are in neither are the
    /// grounding check's business; words in the title or the roles belong to both.
    static func misattributed(_ text: String, source: GuardSource) -> [GuardRejection] {
        guard source.toolNames.count == 2, source.toolNames.allSatisfy({ source.toolMaterial[$0] != nil }) else {
            return []
        }
        func stem(_ word: String) -> String { String(word.prefix(5)) }
        struct Material {
            var words: Set<String>
            var stems: Set<String>
            var numbers: Set<String>
        }
        func material(_ text: String) -> Material {
            let list = words(text.lowercased())
            return Material(
                words: Set(list), stems: Set(list.map(stem)), numbers: Set(tokens(text).compactMap(normalizedNumber)))
        }
        let byTool = Dictionary(uniqueKeysWithValues: source.toolNames.map { ($0, material(source.toolMaterial[$0]!)) })
        let shared = material(source.sharedMaterial)
        let nameWords = Set(source.toolNames.flatMap { words($0.lowercased()) })

        /// What `sentence` draws from `from`'s material that `lacking`'s does not have.
        func borrowed(_ sentence: String, by lacking: Material, from: Material) -> (strong: [String], weak: [String]) {
            var strong: [String] = []
            var weak: [String] = []
            for (position, token) in tokens(sentence).enumerated() {
                let lower = token.lowercased()
                if nameWords.contains(lower) || shared.words.contains(lower) { continue }
                if let number = normalizedNumber(token) {
                    if from.numbers.contains(number) && !lacking.numbers.contains(number)
                        && !shared.numbers.contains(number)
                    {
                        strong.append(token)
                    }
                } else if token.contains(where: \.isNumber) || (token.contains(where: \.isUppercase) && position > 0) {
                    let parts = words(lower)
                    if !parts.isEmpty, parts.allSatisfy(from.words.contains), !parts.allSatisfy(lacking.words.contains) {
                        strong.append(token)
                    }
                }
            }
            for word in words(sentence.lowercased())
            where word.count >= 4 && !functionWords.contains(word) && !nameWords.contains(word) {
                let key = stem(word)
                if from.stems.contains(key) && !lacking.stems.contains(key) && !shared.stems.contains(key)
                    && !weak.contains(word)
                {
                    weak.append(word)
                }
            }
            return (strong, weak)
        }

        for sentence in sentences(text) {
            let named = toolsNamed(in: sentence, source: source)
            let lower = sentence.lowercased()
            // Each claim with the tool it is about: the sentence itself when it names one tool or
            // says both are alike, else its clauses, one per tool ("X does A, while Y does B").
            var claims: [(text: String, about: String, from: String)] = []
            if named.count == 1, let tool = named.first {
                claims = source.toolNames.filter { $0 != tool }.map { (sentence, tool, $0) }
            } else if named.count == 2, containsWord(lower, "both") || containsWord(lower, "each") {
                claims = [(sentence, named[0], named[1]), (sentence, named[1], named[0])]
            } else if named.count == 2 {
                // The parts about one tool together, in the order the tools come.
                let parts = clausesByTool(sentence, source: source)
                var order: [String] = []
                for part in parts where !order.contains(part.tool) { order.append(part.tool) }
                for tool in order {
                    let about = parts.filter { $0.tool == tool }.map(\.clause).joined(separator: ", ")
                    claims += source.toolNames.filter { $0 != tool }.map { (about, tool, $0) }
                }
            }
            for (claim, tool, other) in claims {
                let found = borrowed(claim, by: byTool[tool]!, from: byTool[other]!)
                if !found.strong.isEmpty || found.weak.count >= 2 {
                    return [.misattributed(tool: tool, words: found.strong + found.weak, belongsTo: other)]
                }
            }
        }
        return []
    }

    /// A sentence naming both tools, cut where it may turn from one to the other (a comma, a
    /// semicolon, "while", "whereas", "but", "and"), each part with the tool it is about: the one
    /// it names, else the one named before it (or after it, at the start). A part that compares
    /// ("unlike X", "compared with X") or names both says nothing that can be put on one tool, and
    /// is left out, as is what follows it until a tool is named again.
    static func clausesByTool(_ sentence: String, source: GuardSource) -> [(clause: String, tool: String)] {
        let pattern = #"\s*[;,]\s*|\s+(?:while|whereas|whilst|but|and|yet|though|although)\s+"#
        var parts: [String] = []
        var rest = Substring(sentence)
        while let range = rest.range(of: pattern, options: [.regularExpression, .caseInsensitive]),
            !range.isEmpty
        {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        let comparing = ["unlike ", "compared with ", "compared to ", "as opposed to ", "than ", "like "]
        // nil: a part of no one tool; "" : not decided yet.
        var tools: [String?] = parts.map { part in
            let lower = part.lowercased().trimmingCharacters(in: .whitespaces)
            let named = toolsNamed(in: part, source: source)
            if named.count > 1 || (!named.isEmpty && comparing.contains(where: lower.hasPrefix)) { return nil }
            return named.first ?? ""
        }
        var last: String?? = .none
        for index in tools.indices {
            switch tools[index] {
            case .some(""): if case .some(let tool) = last { tools[index] = tool }
            default: last = .some(tools[index])
            }
        }
        // The opening parts before any tool is named belong to the first one named.
        if let first = tools.firstIndex(where: { $0 != "" }), case .some(let tool)? = Optional(tools[first]) {
            for index in 0..<first { tools[index] = tool }
        }
        return zip(parts, tools).compactMap { part, tool in
            guard let tool, !tool.isEmpty else { return nil }
            return (part, tool)
        }
    }

    // MARK: - Text helpers

    /// Lowercase-insensitive words: letters, digits and inner apostrophes or hyphens.
    static func words(_ text: String) -> [String] {
        text.split { !($0.isLetter || $0.isNumber || $0 == "'" || $0 == "’" || $0 == "-") }
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'’-")) }
            .filter { !$0.isEmpty }
    }

    /// Whitespace-separated tokens with surrounding punctuation and a possessive removed:
    /// `“SmolLM3's` → `SmolLM3`, `(v0),` → `v0`, `$20/month` stays one token.
    static func tokens(_ text: String) -> [String] {
        let edges = CharacterSet.punctuationCharacters.union(.symbols).subtracting(CharacterSet(charactersIn: "$%€£"))
        return text.split(whereSeparator: \.isWhitespace).compactMap { raw in
            var token = raw.trimmingCharacters(in: edges)
            for suffix in ["'s", "’s"] where token.hasSuffix(suffix) { token.removeLast(2) }
            return token.isEmpty ? nil : token
        }
    }

    /// `1,000` → `1000`, `80%` → `80`, `$20` → `20`, `2.5` → `2.5`; nil for `3B` or `GPT-4o`.
    static func normalizedNumber(_ token: String) -> String? {
        var body = token
        while let first = body.first, "$€£".contains(first) { body.removeFirst() }
        if body.hasSuffix("%") { body.removeLast() }
        guard !body.isEmpty, body.allSatisfy({ $0.isNumber || $0 == "," || $0 == "." }), body.first!.isNumber
        else { return nil }
        body = body.replacingOccurrences(of: ",", with: "")
        while body.hasSuffix(".") { body.removeLast() }
        if body.contains(".") {
            while body.hasSuffix("0") { body.removeLast() }
            if body.hasSuffix(".") { body.removeLast() }
        }
        return body
    }

    /// Sentences: split after . ! ? followed by white space (and a closing quote, if any).
    static func sentences(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        let characters = Array(text)
        var index = 0
        while index < characters.count {
            let character = characters[index]
            current.append(character)
            if ".!?".contains(character) {
                var next = index + 1
                while next < characters.count, "\"”’')".contains(characters[next]) {
                    current.append(characters[next])
                    next += 1
                }
                if next >= characters.count || characters[next].isWhitespace {
                    let trimmed = current.trimmingCharacters(in: .whitespacesAndNewlines)
                    // "e.g." and "v2." inside a sentence: keep going when a lowercase word follows,
                    // and after "vs." and the like whatever follows.
                    let following = characters[next...].drop { $0.isWhitespace }.first
                    let lastWord = trimmed.split(separator: " ").last.map { $0.lowercased() } ?? ""
                    if (following == nil || !(following!.isLowercase)) && !abbreviations.contains(lastWord) {
                        if !trimmed.isEmpty { result.append(trimmed) }
                        current = ""
                    }
                }
                index = next
                continue
            }
            index += 1
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { result.append(rest) }
        return result
    }

    static let abbreviations: Set<String> = [
        "vs.", "v.", "e.g.", "i.e.", "etc.", "approx.", "mr.", "dr.", "ms.", "no.",
    ]

    /// `text` with each mention of a name (case-insensitive; where names overlap, the longest at
    /// the leftmost place) replaced by `mask(n)`, n counting the mentions. One pass from left to
    /// right: a mask is never searched again, so a tool named like a mask ("Reply", "Mention")
    /// cannot match inside one and loop for ever.
    static func masking(_ names: [String], in text: String, with mask: (Int) -> String) -> String {
        let names = names.filter { !$0.isEmpty }
        var result = ""
        var count = 0
        var position = text.startIndex
        while position < text.endIndex {
            let mentions = names.compactMap { text.range(of: $0, options: .caseInsensitive, range: position..<text.endIndex) }
            guard
                let next = mentions.min(by: {
                    $0.lowerBound != $1.lowerBound ? $0.lowerBound < $1.lowerBound : $0.upperBound > $1.upperBound
                })
            else { break }
            result += text[position..<next.lowerBound]
            count += 1
            result += mask(count)
            position = next.upperBound
        }
        result += text[position...]
        return result
    }

    static func containsWord(_ text: String, _ word: String) -> Bool {
        words(text).contains(word)
    }
}
