import Foundation

/// Subscriber lists in and out as CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF).
///
/// Import reads `email[,name]`, with or without a header row naming the columns (`email`,
/// `name`, `topics` in any order, other columns ignored). `topics` lists topics separated by
/// `;` (empty: everything). A bad row is reported with its line number and the rest are imported.
public enum SubscriberCSV {
    public struct Row: Sendable, Equatable {
        public var line: Int
        public var email: String
        public var name: String?
        /// The `topics` column as written (nil without one).
        public var topics: [String]? = nil
        /// The topics checked against the store's (see `checkTopics`).
        public var choice: TopicChoice? = nil
    }

    /// A `topics` field longer than this is refused (more than any real choice, less than a
    /// paste of something else).
    public static let maxTopicsLength = 1_000

    public struct RowError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }

        public init(line: Int, message: String) {
            self.line = line
            self.message = message
        }
    }

    /// The rows to import and the rows refused, each with its line number.
    public static func parse(_ text: String) -> (rows: [Row], errors: [RowError]) {
        var rows: [Row] = []
        var errors: [RowError] = []
        var emailColumn = 0
        var nameColumn: Int? = 1
        var topicsColumn: Int?
        for (index, record) in records(text).enumerated() {
            let fields = record.fields.map { $0.trimmingCharacters(in: .whitespaces) }
            if let problem = record.problem {
                errors.append(RowError(line: record.line, message: problem))
                continue
            }
            if fields.allSatisfy(\.isEmpty) { continue }
            if index == 0, let headerEmail = fields.firstIndex(where: { $0.lowercased() == "email" }) {
                emailColumn = headerEmail
                nameColumn = fields.firstIndex { $0.lowercased() == "name" }
                topicsColumn = fields.firstIndex { $0.lowercased() == "topics" }
                continue
            }
            guard emailColumn < fields.count, !fields[emailColumn].isEmpty else {
                errors.append(RowError(line: record.line, message: "no email address in column \(emailColumn + 1)"))
                continue
            }
            let name = nameColumn.flatMap { $0 < fields.count ? fields[$0] : nil }.flatMap { $0.isEmpty ? nil : $0 }
            let topicsField = topicsColumn.flatMap { $0 < fields.count ? fields[$0] : "" }
            if let topicsField, topicsField.count > maxTopicsLength {
                errors.append(
                    RowError(
                        line: record.line,
                        message: "the topics column is \(topicsField.count) characters long, more than \(maxTopicsLength)"))
                continue
            }
            let topics = topicsField.map {
                $0.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            switch row(line: record.line, email: fields[emailColumn], name: name, topics: topics) {
            case .success(let row): rows.append(row)
            case .failure(let error): errors.append(error)
            }
        }
        return (rows, errors)
    }

    /// One row's address and name checked (a CSV's, or an entry of the API's JSON list).
    public static func row(line: Int, email: String, name: String?, topics: [String]?) -> Result<Row, RowError> {
        if let topics, topics.joined(separator: ";").count > maxTopicsLength {
            return .failure(RowError(line: line, message: "the topics are longer than \(maxTopicsLength) characters"))
        }
        do {
            let address = try MailAddress(email, displayName: name)
            return .success(Row(line: line, email: address.address, name: address.displayName, topics: topics))
        } catch {
            return .failure(RowError(line: line, message: "\(error)"))
        }
    }

    struct Record {
        var line: Int
        var fields: [String]
        var problem: String?
    }

    /// Splits CSV text into records, each with the line it starts on.
    static func records(_ text: String) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var quotedFieldClosed = false
        var line = 1
        var recordLine = 1
        var problem: String?
        var characters = Array(text.unicodeScalars)[...]
        func endRecord() {
            fields.append(field)
            records.append(Record(line: recordLine, fields: fields, problem: problem))
            fields = []
            field = ""
            problem = nil
            quotedFieldClosed = false
            recordLine = line
        }
        while let scalar = characters.popFirst() {
            if inQuotes {
                if scalar == "\"" {
                    if characters.first == "\"" {
                        field.unicodeScalars.append("\"")
                        characters.removeFirst()
                    } else {
                        inQuotes = false
                        quotedFieldClosed = true
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty && !quotedFieldClosed:
                inQuotes = true
            case ",":
                fields.append(field)
                field = ""
                quotedFieldClosed = false
            case "\r" where characters.first == "\n":
                break
            case "\n":
                line += 1
                endRecord()
            default:
                if quotedFieldClosed && problem == nil { problem = "text after a closing quote" }
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes { problem = "a quoted field is not closed before the end of the file" }
        if !field.isEmpty || !fields.isEmpty || problem != nil { endRecord() }
        return records
    }

    /// Checks each row's topics against the store's: a row naming an unknown topic is refused
    /// with the topic's name, the others get their choice.
    public static func checkTopics(_ rows: [Row], catalog: TopicCatalog, aliases: TopicAliases) -> (
        rows: [Row], errors: [RowError]
    ) {
        var checked: [Row] = []
        var errors: [RowError] = []
        for var row in rows {
            guard let topics = row.topics else {
                checked.append(row)
                continue
            }
            do {
                row.choice = try catalog.choice(topics, aliases: aliases)
                checked.append(row)
            } catch {
                errors.append(RowError(line: row.line, message: "the topics column: \(error)"))
            }
        }
        return (checked, errors)
    }

    public static let header = "email,name,status,format,paused,created_at,confirmed_at,topics"

    /// One CSV line (without its line end) for `export`; `topics` empty means everything.
    public static func line(_ subscriber: Subscriber, topics: TopicChoice = .everything) -> String {
        let formatter = ISO8601DateFormatter()
        return [
            subscriber.email, subscriber.name ?? "", subscriber.status.rawValue, subscriber.format.rawValue,
            subscriber.paused ? "true" : "false", formatter.string(from: subscriber.createdAt),
            subscriber.confirmedAt.map { formatter.string(from: $0) } ?? "", topics.topics.joined(separator: ";"),
        ].map(quote).joined(separator: ",")
    }

    static func quote(_ field: String) -> String {
        // A leading = + - @ would run as a formula in a spreadsheet: prefix a quote mark.
        let defused = field.first.map { "=+-@\t".contains($0) } == true ? "'" + field : field
        guard defused.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return defused }
        return "\"" + defused.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
