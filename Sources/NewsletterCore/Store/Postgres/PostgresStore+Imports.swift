import Foundation
import PostgresNIO

/// NewsletterStore's own methods beyond its parts, in PostgreSQL: imports, the topic choices
/// an export writes, and dropping an editor's summary.
extension PostgresStore {
    /// The stored choices of these subscribers, for export (those without one are everything,
    /// and absent here).
    public func topicChoices(subscriberIDs: [Int64]) async throws -> [Int64: TopicChoice] {
        guard !subscriberIDs.isEmpty else { return [:] }
        return try await read { connection in
            var topics: [Int64: [String]] = [:]
            for row in try await connection.rows(
                "SELECT subscriber_id, topic FROM subscriber_topic WHERE subscriber_id = ANY(\(subscriberIDs))")
            {
                let (id, topic) = try row.decode((Int64, String).self)
                topics[id, default: []].append(topic)
            }
            return topics.mapValues { TopicChoice($0) }
        }
    }

    /// Drops an editor's text, so the generated summary shows again; false when there was none.
    public func removeSummaryOverride(week: IssueWeek, comparisonID: Int64) async throws -> Bool {
        try await transaction { connection in
            try await connection.run(
                "DELETE FROM summary_override WHERE week = \(week.description) AND comparison_id = \(comparisonID)")
                > 0
        }
    }
}
