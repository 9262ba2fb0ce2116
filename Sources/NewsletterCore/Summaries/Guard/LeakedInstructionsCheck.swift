import Foundation

/// Chat tokens, role labels, assistant boilerplate, or the prompt's own words recited.
struct LeakedInstructionsCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        SummaryGuard.leakedInstructions(text, source: source)
    }
}

extension SummaryGuard {
    /// Chat tokens, role labels, assistant boilerplate, and runs of the prompt's own words.
    static func leakedInstructions(_ text: String, source: GuardSource) -> [GuardRejection] {
        leakedInstructions(CheckedText(text), source: source)
    }

    static func leakedInstructions(_ checked: CheckedText, source: GuardSource) -> [GuardRejection] {
        let text = checked.text
        let lower = checked.lower
        let sourceLower = source.text.lowercased()
        let outputPhrase = " " + checked.words.joined(separator: " ") + " "
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

}
