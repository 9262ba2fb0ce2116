import Foundation
import PostgresNIO

/// NewsletterStore's own methods beyond its parts, in PostgreSQL: imports, the topic choices
/// an export writes, and dropping an editor's summary.
extension PostgresStore {
    /// Adds a confirmed subscriber from an import, with a consent record naming where it came
    /// from; an address already known (in any case) is left exactly as it is (an import never
    /// undoes an unsubscribe). Returns whether the address was new.
    public func importSubscriber(
        email: String, name: String?, topics: TopicChoice? = nil, source: String, at time: Date
    ) throws -> Bool {
        try transaction { connection in
            // Two imports of one address at once: the unique index lets one in, the other finds it.
            let inserted = try connection.rows(
                """
                INSERT INTO subscriber (email, name, status, created_at, confirmed_at)
                VALUES (\(email), \(name), \(Subscriber.Status.confirmed.rawValue), \(time), \(time))
                ON CONFLICT ((lower(email))) DO NOTHING
                RETURNING id
                """)
            guard let subscriberID = try inserted.first?.decode(Int64.self) else { return false }
            try Self.recordConsent(
                subscriberID: subscriberID, event: "import", client: .commandLine, at: time, detail: source, connection)
            if let topics {
                try Self.replaceTopicChoice(
                    topics, subscriberID: subscriberID, client: .commandLine, at: time, event: "import-topics",
                    connection)
            }
            return true
        }
    }

    /// The stored choices of these subscribers, for export (those without one are everything,
    /// and absent here).
    public func topicChoices(subscriberIDs: [Int64]) throws -> [Int64: TopicChoice] {
        guard !subscriberIDs.isEmpty else { return [:] }
        return try read { connection in
            var topics: [Int64: [String]] = [:]
            for row in try connection.rows(
                "SELECT subscriber_id, topic FROM subscriber_topic WHERE subscriber_id = ANY(\(subscriberIDs))")
            {
                let (id, topic) = try row.decode((Int64, String).self)
                topics[id, default: []].append(topic)
            }
            return topics.mapValues { TopicChoice($0) }
        }
    }

    /// Drops an editor's text, so the generated summary shows again; false when there was none.
    public func removeSummaryOverride(week: IssueWeek, comparisonID: Int64) throws -> Bool {
        try transaction { connection in
            try connection.run(
                "DELETE FROM summary_override WHERE week = \(week.description) AND comparison_id = \(comparisonID)")
                > 0
        }
    }
}
