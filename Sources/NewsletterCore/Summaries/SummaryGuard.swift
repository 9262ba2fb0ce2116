import Foundation

/// The checks an abstractive summary must pass before it can reach a subscriber. Pure
/// functions of the text and its source, so each one is tested on crafted outputs.
public struct SummaryGuard: Sendable {
    public var minimumWords = 12
    public var maximumWords = 110
    /// Off for verbatim sentences of the takes: two reviewers may open alike, and that is not a loop.
    public var checksRepeatedRuns = true
    /// The most content words (in %) that may be absent from the takes.
    public var maximumUngroundedShare = 25
    /// The checks of meaning against each tool's takes (issue 23): a reason present, nothing
    /// invented, nothing inverted, no cause fused from two takes. They run only on a source made
    /// from a comparison (one that has the takes by tool).
    public var checksMeaning = true

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

    /// The checks in the order they run, most basic first.
    public var checks: [any SummaryCheck] {
        [
            LeakedInstructionsCheck(), ProseCheck(), LengthCheck(minimum: minimumWords, maximum: maximumWords),
            CompleteSentencesCheck(), RepetitionCheck(repeatedRuns: checksRepeatedRuns), UnsupportedNumbersCheck(),
            UnsupportedNamesCheck(), VerdictCheck(), OffTopicCheck(), GroundingCheck(maximumShare: maximumUngroundedShare),
            AttributionCheck(),
        ] + (checksMeaning ? [ReviewerVerdictCheck(), ReasonCheck(), InventedCheck(), InversionCheck(), FusedCauseCheck()] : [])
    }

    /// Every reason to refuse `output`, most basic first; empty means accepted.
    public func check(_ output: String, against source: GuardSource) -> [GuardRejection] {
        let text = CheckedText(output)
        guard !text.isEmpty else { return [.empty] }
        return checks.flatMap { $0.reasons(text, source: source) }
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
        var reasons = partChecks.check(output, against: source).filter { $0.rejectionKind != .offTopic }
        if !output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
            !Self.toolsNamed(in: output, source: source).contains(tool)
        {
            reasons.append(.offTopic(missing: [tool]))
        }
        return reasons
    }

    /// The whole guard on `text` as a comparison's sentences about `tool` (what `summaries check
    /// --tool` and the per-tool chain run): not copied from the page, then the part checks.
    /// `instructions`: what the model was told, if a model wrote it ("" for an editor's text).
    public func checkSentence(
        _ text: String, about tool: Tool, in comparison: Comparison, instructions: String = ""
    ) -> [GuardRejection] {
        let source = GuardSource(comparison, instructions: instructions)
        let material = SummaryPrompt.copyMaterial(comparison, tool: tool)
        let copied = Self.copiedRun(text, from: material).map { [GuardRejection.copiedFromPage($0)] } ?? []
        return copied + checkPart(text, about: tool.name, against: source)
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

    /// `sentence` up to its first contrast (", while …", ", but …", "; …"), as a sentence of its
    /// own; nil when it has none. A reply whose reason holds but whose dissent clause gets a
    /// reviewer wrong ("… while the Skeptic skips it", where the Skeptic ships) still has a
    /// faithful sentence in it: the verdict and its reason, without the dissent.
    public static func mainClause(_ sentence: String) -> String? {
        let contrasts = [", while ", ", but ", ", though ", ", although ", ", whereas ", ", yet ", "; ", ", however"]
        guard let cut = contrasts.compactMap({ sentence.range(of: $0)?.lowerBound }).min() else { return nil }
        var main = String(sentence[..<cut])
        while let last = main.last, last == "," || last == " " { main.removeLast() }
        return main + "."
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
        LengthCheck(minimum: minimumWords, maximum: maximumWords).reasons(CheckedText(text), source: .empty)
    }
}

/// Fewer words than a summary needs, or more than it may have.
struct LengthCheck: SummaryCheck {
    var minimum: Int
    var maximum: Int

    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        let count = SummaryGuard.words(text.text).count
        if count < minimum { return [.tooShort(words: count, minimum: minimum)] }
        if count > maximum { return [.tooLong(words: count, maximum: maximum)] }
        return []
    }
}
