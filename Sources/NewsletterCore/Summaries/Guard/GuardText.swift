import Foundation

extension SummaryGuard {

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
