import Foundation

/// A sentence about one tool that says what the page says of the other.
struct AttributionCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.misattributed(text, source: source)
    }
}

extension SummaryGuard {

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
        misattributed(CheckedText(text), source: source)
    }

    static func misattributed(_ checked: CheckedText, source: GuardSource) -> [GuardRejection] {
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

        for sentence in checked.sentences {
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
}
