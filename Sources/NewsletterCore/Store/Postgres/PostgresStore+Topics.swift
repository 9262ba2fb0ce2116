import Foundation
import PostgresNIO

/// Topics in PostgreSQL, as the SQLite store keeps them: the categories pages gave (written
/// with each comparison, TopicRows) and each subscriber's choice, whose changes go into the
/// consent trail.
extension PostgresStore: TopicStore {
    public func categoryUses() async throws -> [(category: String, comparisonID: Int64)] {
        try await read { connection in
            try await connection.rows("SELECT topic, comparison_id FROM comparison_topic ORDER BY comparison_id, topic")
                .map {
                    row -> (category: String, comparisonID: Int64) in
                    let (topic, id) = try row.decode((String, Int64).self)
                    return (category: topic, comparisonID: id)
                }
        }
    }

    public func categories() async throws -> [String] {
        try await read { connection in
            try await connection.rows(
                #"""
                SELECT name FROM topic WHERE EXISTS (SELECT 1 FROM comparison_topic c WHERE c.topic = topic.name)
                ORDER BY lower(name) COLLATE "C", name COLLATE "C"
                """#
            ).map { try $0.decode(String.self) }
        }
    }

    public func readerChoices() async throws -> [TopicChoice: Int] {
        // Who reads an issue is the core's rule (DeliveryEligibility), given here as arguments.
        let statuses = DeliveryEligibility.statuses.map(\.rawValue)
        let includesPaused = DeliveryEligibility.includesPaused
        return try await read { connection in
            let readers =
                try await connection.rows(
                    """
                    SELECT count(*) FROM subscriber s
                    WHERE s.status = ANY(\(statuses)) AND (\(includesPaused) OR NOT s.paused)
                    """
                ).first?.decode(Int.self) ?? 0
            let choices = try await connection.rows(
                """
                SELECT array_agg(t.topic) FROM subscriber_topic t JOIN subscriber s ON s.id = t.subscriber_id
                WHERE s.status = ANY(\(statuses)) AND (\(includesPaused) OR NOT s.paused)
                GROUP BY t.subscriber_id
                """
            ).map { try $0.decode([String].self) }
            return TopicChoice.readerCounts(readers: readers, choices: choices)
        }
    }
}

/// Topic rows in PostgreSQL, inside the caller's transaction (the workflows: TopicRows).
extension PostgresSession: TopicRows {
    func deleteComparisonTopics(of comparisonID: Int64) async throws {
        try await run("DELETE FROM comparison_topic WHERE comparison_id = \(comparisonID)")
    }

    func insertTopic(_ name: String, at time: Date) async throws {
        try await run(
            "INSERT INTO topic (name, first_seen_at) VALUES (\(name), \(time)) ON CONFLICT ((lower(name))) DO NOTHING")
    }

    func linkTopic(_ name: String, comparisonID: Int64) async throws {
        try await run(
            """
            INSERT INTO comparison_topic (comparison_id, topic)
            SELECT \(comparisonID), name FROM topic WHERE lower(name) = lower(\(name))
            ON CONFLICT DO NOTHING
            """)
    }

    func subscriberTopics(subscriberID: Int64) async throws -> [String] {
        try await rows("SELECT topic FROM subscriber_topic WHERE subscriber_id = \(subscriberID)").map {
            try $0.decode(String.self)
        }
    }

    func deleteSubscriberTopics(subscriberID: Int64) async throws {
        try await run("DELETE FROM subscriber_topic WHERE subscriber_id = \(subscriberID)")
    }

    func insertSubscriberTopic(_ topic: String, subscriberID: Int64) async throws {
        try await run("INSERT INTO subscriber_topic (subscriber_id, topic) VALUES (\(subscriberID), \(topic))")
    }
}
