import Foundation

/// Each tool's sentences must carry at least one of the panel's reasons: a content word its takes
/// use that its own name, tagline, description, category and pricing do not. A sentence that only
/// says what the tool is ("Quillmark stamps AI text and images with provenance via one API")
/// tells a reader nothing of why the panel ships or skips it.
struct ReasonCheck: SummaryCheck {
    func reasons(_ text: CheckedText, source: GuardSource) -> [GuardRejection] {
        guard !source.takes.isEmpty else { return [] }
        let alignment = ClaimAlignment(source: source)
        let shared = Set(ClaimAlignment.contentStems(source.sharedMaterial, source: source))
        var saidOf: [String: [String]] = [:]
        var order: [String] = []
        for claim in alignment.claims(text) {
            if saidOf[claim.tool] == nil { order.append(claim.tool) }
            saidOf[claim.tool, default: []].append(claim.text)
        }
        var reasons: [GuardRejection] = []
        for tool in order {
            guard let takes = source.takes[tool], !takes.isEmpty else { continue }
            let profile = Set(ClaimAlignment.contentStems(source.profiles[tool] ?? tool, source: source))
            let fromTakes = Set(takes.flatMap { ClaimAlignment.contentStems($0.text, source: source) })
                .subtracting(profile).subtracting(shared).subtracting(ClaimAlignment.verdictStems)
            let said = saidOf[tool, default: []].joined(separator: " ")
            let names = Set(source.toolNames.flatMap { SummaryGuard.words($0.lowercased()) })
            let content = SummaryGuard.words(said.lowercased())
                .filter { $0.count >= 4 && !SummaryGuard.functionWords.contains($0) && !names.contains($0) }
            if !content.contains(where: { fromTakes.contains(ClaimAlignment.stem($0)) }) {
                var described: [String] = []
                for word in content where profile.contains(ClaimAlignment.stem(word)) && !described.contains(word) {
                    described.append(word)
                }
                reasons.append(.noReason(tool: tool, words: Array(described.prefix(4))))
            }
        }
        return reasons
    }
}
