import Foundation
import GRDB

extension AppDatabase {
}

extension AppDatabase: TopicStore {
    public func categoryUses() async throws -> [(category: String, comparisonID: Int64)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT topic, comparison_id FROM comparison_topic ORDER BY comparison_id").map {
                ($0["topic"], $0["comparison_id"])
            }
        }
    }

    public func categories() async throws -> [String] {
        try await read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM topic WHERE EXISTS (SELECT 1 FROM comparison_topic c WHERE c.topic = topic.name)
                    ORDER BY name
                    """)
        }
    }

    public func topicChoice(subscriberID: Int64) async throws -> TopicChoice {
        try await readRows { rows in try await rows.topicChoice(subscriberID: subscriberID) }
    }

    public func setTopicChoice(_ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date)
        async throws
    {
        try await transaction { rows in
            try await rows.replaceTopicChoice(choice, subscriberID: subscriberID, client: client, at: time)
        }
    }

    public func readerChoices() async throws -> [TopicChoice: Int] {
        try await read { db in
            // Who reads an issue is the core's rule (DeliveryEligibility), spelled here as arguments.
            let statuses = DeliveryEligibility.statuses.map(\.rawValue)
            let placeholders = Array(repeating: "?", count: statuses.count).joined(separator: ", ")
            let eligible = "s.status IN (\(placeholders)) AND (? OR NOT s.paused)"
            let arguments = StatementArguments(statuses) + [DeliveryEligibility.includesPaused]
            let readers =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM subscriber s WHERE \(eligible)", arguments: arguments)
                ?? 0
            var chosen: [[String]] = []
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT GROUP_CONCAT(t.topic, char(10)) AS topics FROM subscriber_topic t
                    JOIN subscriber s ON s.id = t.subscriber_id WHERE \(eligible)
                    GROUP BY t.subscriber_id
                    """, arguments: arguments)
            while let row = try rows.next() {
                let topics: String = row["topics"]
                chosen.append(topics.split(separator: "\n").map(String.init))
            }
            return TopicChoice.readerCounts(readers: readers, choices: chosen)
        }
    }

    /// Every subscriber's stored choice, for export (subscribers without one are everything).
    public func topicChoices(subscriberIDs: [Int64]) async throws -> [Int64: TopicChoice] {
        guard !subscriberIDs.isEmpty else { return [:] }
        return try await read { db in
            var topics: [Int64: [String]] = [:]
            let placeholders = Array(repeating: "?", count: subscriberIDs.count).joined(separator: ",")
            for row in try Row.fetchAll(
                db, sql: "SELECT subscriber_id, topic FROM subscriber_topic WHERE subscriber_id IN (\(placeholders))",
                arguments: StatementArguments(subscriberIDs))
            {
                topics[row["subscriber_id"], default: []].append(row["topic"])
            }
            return topics.mapValues { TopicChoice($0) }
        }
    }
}

/// Topic rows in SQLite, inside the caller's write transaction (the workflows: TopicRows).
extension Database {
    func deleteComparisonTopics(of comparisonID: Int64) throws {
        try execute(sql: "DELETE FROM comparison_topic WHERE comparison_id = ?", arguments: [comparisonID])
    }

    func insertTopic(_ name: String, at time: Date) throws {
        try execute(
            sql: "INSERT INTO topic (name, first_seen_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
            arguments: [name, time])
    }

    func linkTopic(_ name: String, comparisonID: Int64) throws {
        // `topic.name` compares without case, so this finds the spelling stored.
        try execute(
            sql: """
                INSERT INTO comparison_topic (comparison_id, topic) SELECT ?, name FROM topic WHERE name = ?
                ON CONFLICT DO NOTHING
                """, arguments: [comparisonID, name])
    }

    func subscriberTopics(subscriberID: Int64) throws -> [String] {
        try String.fetchAll(
            self, sql: "SELECT topic FROM subscriber_topic WHERE subscriber_id = ?", arguments: [subscriberID])
    }

    func deleteSubscriberTopics(subscriberID: Int64) throws {
        try execute(sql: "DELETE FROM subscriber_topic WHERE subscriber_id = ?", arguments: [subscriberID])
    }

    func insertSubscriberTopic(_ topic: String, subscriberID: Int64) throws {
        try execute(
            sql: "INSERT INTO subscriber_topic (subscriber_id, topic) VALUES (?, ?)", arguments: [subscriberID, topic])
    }
}

extension AppDatabase {
    /// A store file migrated only up to `migration`, with `sql` run in it: how a test makes the
    /// store of an older release to check that a later migration backfills it.
    static func createMigrated(path: String, upTo migration: String, then sql: String) throws {
        let queue = try DatabaseQueue(path: path)
        try migrator.migrate(queue, upTo: migration)
        try queue.write { try $0.execute(sql: sql) }
        try queue.close()
    }
}
