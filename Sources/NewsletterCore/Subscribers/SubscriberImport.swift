import Foundation

/// One import of a list, as `newsletter subscribers import` and the API's import run it: the
/// rows' topics checked against the store's, then each new address added confirmed with an
/// `import` consent record naming where it came from; an address already known is left as it
/// is (an import never undoes an unsubscribe). Bad rows are reported by line and the rest go in.
public enum SubscriberImport {
    public struct Summary: Sendable, Equatable {
        public var added: Int
        public var known: Int
        /// Refused rows, by line (a CSV line, or a JSON list's index from 1).
        public var refused: [SubscriberCSV.RowError]
    }

    /// Imports `parsed` (`SubscriberCSV.parse` or `rows(_:)`), with the rows refused in parsing.
    public static func run(
        _ parsed: [SubscriberCSV.Row], parseErrors: [SubscriberCSV.RowError], store: some NewsletterStore,
        aliases: TopicAliases, source: (SubscriberCSV.Row) -> String, at time: Date
    ) async throws -> Summary {
        let (rows, topicErrors) = SubscriberCSV.checkTopics(
            parsed, catalog: try await store.topicCatalog(aliases: aliases), aliases: aliases)
        var added = 0
        var suppressed: [SubscriberCSV.RowError] = []
        for row in rows {
            do {
                if try await store.importSubscriber(
                    email: row.email, name: row.name, topics: row.choice, source: source(row), at: time)
                {
                    added += 1
                }
            } catch let error as AddressSuppressed {
                // An erased reader comes back only through a new opt-in.
                suppressed.append(SubscriberCSV.RowError(line: row.line, message: "\(error)"))
            }
        }
        return Summary(
            added: added, known: rows.count - added - suppressed.count,
            refused: (parseErrors + topicErrors + suppressed).sorted { $0.line < $1.line })
    }

    /// Rows given as values (the API's JSON list) checked as a CSV's are, numbered from 1.
    public static func rows(_ entries: [(email: String, name: String?, topics: [String]?)]) -> (
        rows: [SubscriberCSV.Row], errors: [SubscriberCSV.RowError]
    ) {
        var rows: [SubscriberCSV.Row] = []
        var errors: [SubscriberCSV.RowError] = []
        for (index, entry) in entries.enumerated() {
            switch SubscriberCSV.row(
                line: index + 1, email: entry.email.trimmingCharacters(in: .whitespaces),
                name: entry.name.flatMap { $0.isEmpty ? nil : $0 }, topics: entry.topics)
            {
            case .success(let row): rows.append(row)
            case .failure(let error): errors.append(error)
            }
        }
        return (rows, errors)
    }
}
