import Foundation

/// The whole guard run on a text someone wrote or a model gave, about one tool of a comparison or
/// about the whole comparison: what `newsletter summaries check` prints and the editor page shows
/// beside an editor's own text.
public struct GuardVerdict: Sendable, Equatable, Encodable {
    /// One reason to refuse: the check that objects (its kind) and what it says, naming the words.
    public struct Reason: Sendable, Equatable, Encodable {
        public var check: String
        public var message: String
    }

    /// The tool the text was checked as being about; nil: the whole summary.
    public var tool: String?
    public var reasons: [Reason]
    public var accepted: Bool { reasons.isEmpty }

    public init(tool: String?, rejections: [GuardRejection]) {
        self.tool = tool
        reasons = rejections.map { Reason(check: $0.kind, message: $0.description) }
    }

    enum CodingKeys: String, CodingKey { case tool, accepted, reasons }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(tool, forKey: .tool)
        try container.encode(accepted, forKey: .accepted)
        try container.encode(reasons, forKey: .reasons)
    }

    /// Checks `text` as `tool`'s sentences (by its name, case-insensitively), or as the whole
    /// summary when `tool` is nil. The text is an editor's or a reader's: no prompt to recite.
    public static func check(
        _ text: String, tool: String?, in comparison: Comparison, checks: SummaryGuard = SummaryGuard()
    ) throws(GuardVerdictError) -> GuardVerdict {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw .emptyText }
        guard let tool else {
            return GuardVerdict(tool: nil, rejections: checks.check(text, against: GuardSource(comparison, instructions: "")))
        }
        guard let found = comparison.tools.first(where: { $0.name.lowercased() == tool.lowercased() }) else {
            throw .unknownTool(tool, tools: comparison.tools.map(\.name), page: comparison.title)
        }
        return GuardVerdict(tool: found.name, rejections: checks.checkSentence(text, about: found, in: comparison))
    }
}

/// Why a text could not be checked at all.
public enum GuardVerdictError: Error, Equatable, CustomStringConvertible {
    case emptyText
    case unknownTool(String, tools: [String], page: String)

    public var description: String {
        switch self {
        case .emptyText: "there is no text to check: give it with --text or on standard input"
        case .unknownTool(let tool, let tools, let page):
            "\"\(page)\" has no tool \"\(tool)\"; its tools are \(tools.map { "\"\($0)\"" }.joined(separator: " and "))"
        }
    }
}

extension LabelledSummaries {
    /// Runs the guard (`checkSentence`, as `summaries check --tool` does) over every row.
    public func measure(
        _ checks: SummaryGuard = SummaryGuard(), comparison: (Row) throws -> Comparison
    ) throws -> LabelledMeasurement {
        try measure(comparison: comparison) { sentence, tool, page in
            guard let found = page.tools.first(where: { $0.name == tool }) else { return [.offTopic(missing: [tool])] }
            return checks.checkSentence(sentence, about: found, in: page)
        }
    }
}
