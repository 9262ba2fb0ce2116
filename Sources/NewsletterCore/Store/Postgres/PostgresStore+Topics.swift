import Foundation
import PostgresNIO

/// Topics in PostgreSQL, as the SQLite store keeps them: the categories pages gave (written
/// with each comparison, PostgresStore+Comparisons.swift) and each subscriber's choice, whose
/// changes go into the consent trail.
extension PostgresStore: TopicStore {
    public func categoryUses() throws -> [(category: String, comparisonID: Int64)] {
        try read { connection in
            try connection.rows("SELECT topic, comparison_id FROM comparison_topic ORDER BY comparison_id, topic").map {
                row -> (category: String, comparisonID: Int64) in
                let (topic, id) = try row.decode((String, Int64).self)
                return (category: topic, comparisonID: id)
            }
        }
    }

    public func categories() throws -> [String] {
        try read { connection in
            try connection.rows(
                #"""
                SELECT name FROM topic WHERE EXISTS (SELECT 1 FROM comparison_topic c WHERE c.topic = topic.name)
                ORDER BY lower(name) COLLATE "C", name COLLATE "C"
                """#
            ).map { try $0.decode(String.self) }
        }
    }

    public func topicChoice(subscriberID: Int64) throws -> TopicChoice {
        try read { connection in try Self.topicChoice(subscriberID: subscriberID, connection) }
    }

    public func setTopicChoice(_ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date) throws {
        try transaction { connection in
            try Self.replaceTopicChoice(choice, subscriberID: subscriberID, client: client, at: time, connection)
        }
    }

    public func readerChoices() throws -> [TopicChoice: Int] {
        // Who reads an issue is the core's rule (DeliveryEligibility), given here as arguments.
        let statuses = DeliveryEligibility.statuses.map(\.rawValue)
        let includesPaused = DeliveryEligibility.includesPaused
        return try read { connection in
            let readers =
                try connection.rows(
                    """
                    SELECT count(*) FROM subscriber s
                    WHERE s.status = ANY(\(statuses)) AND (\(includesPaused) OR NOT s.paused)
                    """
                ).first?.decode(Int.self) ?? 0
            let choices = try connection.rows(
                """
                SELECT array_agg(t.topic) FROM subscriber_topic t JOIN subscriber s ON s.id = t.subscriber_id
                WHERE s.status = ANY(\(statuses)) AND (\(includesPaused) OR NOT s.paused)
                GROUP BY t.subscriber_id
                """
            ).map { try $0.decode([String].self) }
            return TopicChoice.readerCounts(readers: readers, choices: choices)
        }
    }

    // MARK: Shared with imports

    static func topicChoice(subscriberID: Int64, _ connection: PostgresSession) throws -> TopicChoice {
        TopicChoice(
            try connection.rows("SELECT topic FROM subscriber_topic WHERE subscriber_id = \(subscriberID)").map {
                try $0.decode(String.self)
            })
    }

    /// Replaces the stored choice and records the change (`event`) in the consent trail;
    /// the same choice again changes and records nothing.
    static func replaceTopicChoice(
        _ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date, event: String = "topics",
        _ connection: PostgresSession
    ) throws {
        guard try topicChoice(subscriberID: subscriberID, connection) != choice else { return }
        try connection.run("DELETE FROM subscriber_topic WHERE subscriber_id = \(subscriberID)")
        for topic in choice.topics {
            try connection.run("INSERT INTO subscriber_topic (subscriber_id, topic) VALUES (\(subscriberID), \(topic))")
        }
        try recordConsent(
            subscriberID: subscriberID, event: event, client: client, at: time, detail: "topics=\(choice)", connection)
    }
}
