import Foundation

/// Hand-written sentences about one tool of a comparison page, each labelled faithful or with the
/// kind of wrong it is: what the guard is measured on (issue 23). A held-out part is kept aside
/// while the checks are tuned, so the numbers say how the guard does on sentences it was not
/// fitted to.
public struct LabelledSummaries: Sendable {
    /// What a labelled sentence is: faithful, or how it misreports the panel.
    public enum Kind: String, Codable, CaseIterable, Sendable {
        case faithful
        /// A take's claim turned into its opposite (fast for slow, a worry as a strength).
        case inversion
        /// Two reviewers' points joined by a cause neither gave.
        case fusedCause = "fused-cause"
        /// What the page says of the other tool.
        case misattribution
        /// The panel's verdict or counts wrong.
        case wrongVerdict = "wrong-verdict"
        /// Only what the tool is, none of the panel's reasons.
        case taglineOnly = "tagline-only"
        /// A feature, customer, benchmark or company on neither the page nor the tool's material.
        case invented
    }

    public struct Row: Codable, Sendable, Equatable {
        /// `sample` (the shared sample pages) or `examples` (the project's own pages).
        public var folder: String
        /// The page's file name in that folder.
        public var page: String
        public var tool: String
        public var kind: Kind
        /// Not looked at while tuning the checks.
        public var heldOut: Bool
        public var sentence: String
        /// Why the sentence has its kind: the take it paraphrases, or what it gets wrong.
        public var note: String
    }

    public var rows: [Row]

    public init(rows: [Row]) { self.rows = rows }

    /// Reads the set from its JSON file (`{"rows": [...]}`).
    public init(contentsOf url: URL) throws {
        struct File: Decodable { var rows: [Row] }
        rows = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).rows
    }

    /// Runs `verdict` (the reasons to refuse a sentence about a tool of a comparison; none means
    /// accepted) over every row, the page of each read by `comparison`.
    public func measure(
        comparison: (Row) throws -> Comparison,
        verdict: (_ sentence: String, _ tool: String, _ comparison: Comparison) -> [GuardRejection]
    ) throws -> LabelledMeasurement {
        var pages: [String: Comparison] = [:]
        var results: [LabelledMeasurement.Result] = []
        for row in rows {
            let key = row.folder + "/" + row.page
            let page = try pages[key] ?? comparison(row)
            pages[key] = page
            results.append(.init(row: row, rejections: verdict(row.sentence, row.tool, page)))
        }
        return LabelledMeasurement(results: results)
    }
}

/// How the guard did on a labelled set: per kind, how many it accepted and refused, in the tuned
/// and the held-out part.
public struct LabelledMeasurement: Sendable {
    public struct Result: Sendable {
        public var row: LabelledSummaries.Row
        public var rejections: [GuardRejection]
        public var accepted: Bool { rejections.isEmpty }
        /// Faithful accepted, or wrong refused.
        public var right: Bool { accepted == (row.kind == .faithful) }
    }

    public struct Count: Sendable, Equatable {
        public var accepted = 0
        public var refused = 0
        public var total: Int { accepted + refused }
    }

    public var results: [Result]

    /// Accepted and refused for `kind`, in the held-out part or the tuned one (nil: both).
    public func count(_ kind: LabelledSummaries.Kind, heldOut: Bool? = nil) -> Count {
        var count = Count()
        for result in results where result.row.kind == kind && (heldOut == nil || result.row.heldOut == heldOut) {
            if result.accepted { count.accepted += 1 } else { count.refused += 1 }
        }
        return count
    }

    /// The share (in %) of `kind`'s rows the guard got right: faithful accepted, wrong refused.
    public func rightPercent(_ kind: LabelledSummaries.Kind, heldOut: Bool? = nil) -> Int {
        let count = count(kind, heldOut: heldOut)
        guard count.total > 0 else { return 0 }
        let right = kind == .faithful ? count.accepted : count.refused
        return right * 100 / count.total
    }

    /// A Markdown table: per kind, accepted / refused and the share right, tuned, held out and all.
    public func table() -> String {
        func cell(_ kind: LabelledSummaries.Kind, _ heldOut: Bool?) -> String {
            let count = count(kind, heldOut: heldOut)
            return "\(count.accepted) / \(count.refused) (\(rightPercent(kind, heldOut: heldOut)) % right)"
        }
        var lines = [
            "| kind | tuned: accepted / refused | held out: accepted / refused | all: accepted / refused |",
            "| --- | --- | --- | --- |",
        ]
        for kind in LabelledSummaries.Kind.allCases {
            lines.append("| \(kind.rawValue) | \(cell(kind, false)) | \(cell(kind, true)) | \(cell(kind, nil)) |")
        }
        return lines.joined(separator: "\n")
    }

    /// One line per row the guard got wrong: its kind, the sentence and what the guard said.
    public func misses(heldOut: Bool? = nil) -> [String] {
        results.filter { !$0.right && (heldOut == nil || $0.row.heldOut == heldOut) }.map { result in
            let said = result.accepted ? "accepted" : result.rejections.map(\.description).joined(separator: "; ")
            return "[\(result.row.kind.rawValue)] \(result.row.tool): \(result.row.sentence) -> \(said)"
        }
    }
}
