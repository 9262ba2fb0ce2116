import Foundation

extension IngestResult {
    /// `ingest --json` (without --dry-run): what happened to a source.
    public struct Record: Encodable, Sendable {
        var source: String
        var outcome: String
        var id: Int64?
        var title: String?
        var error: String?
        var line: Int?

        public init(_ result: IngestResult) {
            source = result.source
            switch result.outcome {
            case .saved(let saved, let comparison):
                outcome = saved.word
                id = saved.id
                title = comparison.title
            case .parsed(let comparison):
                outcome = "parsed"
                title = comparison.title
            case .failed(let failure):
                outcome = "failed"
                error = failure.message
                line = failure.line
            }
        }
    }

    /// "4 pages: 2 new, 2 duplicate": the last line of `ingest`.
    public static func summary(_ results: [IngestResult]) -> String {
        var counts: [String: Int] = [:]
        for result in results {
            switch result.outcome {
            case .failed: counts["failed", default: 0] += 1
            case .parsed: counts["parsed", default: 0] += 1
            case .saved(let outcome, _): counts[outcome.word, default: 0] += 1
            }
        }
        let order = ["new", "updated", "unchanged", "duplicate", "parsed", "failed"]
        let summary = order.compactMap { key in counts[key].map { "\($0) \(key)" } }.joined(separator: ", ")
        return "\(results.count) page\(results.count == 1 ? "" : "s"): \(summary.isEmpty ? "nothing to do" : summary)"
    }
}

extension SaveOutcome {
    /// The outcome in one word, as `ingest` prints and logs it.
    public var word: String {
        switch self {
        case .inserted: "new"
        case .updated: "updated"
        case .unchanged: "unchanged"
        case .duplicate: "duplicate"
        }
    }

    /// `ingest`'s line for a stored page: the outcome, the record, and what changed or where
    /// the same comparison already is.
    public func line(_ comparison: Comparison) -> String {
        let word = self.word.padding(toLength: 10, withPad: " ", startingAt: 0)
        switch self {
        case .updated(let id, let previousHash):
            return
                "\(word) #\(id) \(comparison.title)  (content changed: \(previousHash.prefix(12)) → \(comparison.contentHash.prefix(12)))"
        case .duplicate(let id, let source):
            return "\(word) of #\(id) \(comparison.title)  \(comparison.source) (same comparison as \(source))"
        case .inserted(let id), .unchanged(let id):
            return "\(word) #\(id) \(comparison.title)  \(comparison.source)"
        }
    }
}
