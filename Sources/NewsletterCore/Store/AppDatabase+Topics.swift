import Foundation
import GRDB

extension AppDatabase {
    /// Topics (migration `v9-topics`): the categories pages give, kept per comparison as they
    /// are ingested, and each subscriber's choice. The categories of comparisons stored before
    /// are backfilled from their tools.
    static func migrateTopics(_ db: Database) throws {
        try db.create(table: "topic") { t in
            t.primaryKey("name", .text).collate(.nocase)
            t.column("firstSeenAt", .datetime).notNull()
        }
        try db.create(table: "comparisonTopic") { t in
            t.belongsTo("comparison", onDelete: .cascade).notNull()
            t.column("topic", .text).notNull().references("topic", onDelete: .restrict).collate(.nocase)
            t.primaryKey(["comparisonId", "topic"])
        }
        // A choice names topics as resolved when it was made (an alias may be no category).
        try db.create(table: "subscriberTopic") { t in
            t.belongsTo("subscriber", onDelete: .cascade).notNull()
            t.column("topic", .text).notNull()
            t.primaryKey(["subscriberId", "topic"])
        }
        // The week's frozen set of variants (JSON, `FrozenVariants`), covered by the draft hash.
        try db.alter(table: "issue") { t in t.add(column: "variants", .text) }

        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT t.comparisonId, t.category, c.firstSeenAt FROM comparisonTool t
                JOIN comparison c ON c.id = t.comparisonId WHERE t.category IS NOT NULL
                """)
        // A migration runs synchronously: `TopicRows.addTopic`'s two steps, on the connection.
        for row in rows {
            let name = TopicAliases.clean(row["category"])
            guard !name.isEmpty else { continue }
            try db.insertTopic(name, at: row["firstSeenAt"])
            try db.linkTopic(name, comparisonID: row["comparisonId"])
        }
    }
}

extension AppDatabase: TopicStore {
    public func categoryUses() async throws -> [(category: String, comparisonID: Int64)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT topic, comparisonId FROM comparisonTopic ORDER BY comparisonId").map {
                ($0["topic"], $0["comparisonId"])
            }
        }
    }

    public func categories() async throws -> [String] {
        try await read { db in try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM topic WHERE EXISTS (SELECT 1 FROM comparisonTopic c WHERE c.topic = topic.name)
                    ORDER BY name
                    """) }
    }

    public func topicChoice(subscriberID: Int64) async throws -> TopicChoice {
        try await readRows { rows in try await rows.topicChoice(subscriberID: subscriberID) }
    }

    public func setTopicChoice(_ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date) async throws {
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
                    SELECT GROUP_CONCAT(t.topic, char(10)) AS topics FROM subscriberTopic t
                    JOIN subscriber s ON s.id = t.subscriberId WHERE \(eligible)
                    GROUP BY t.subscriberId
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
                db, sql: "SELECT subscriberId, topic FROM subscriberTopic WHERE subscriberId IN (\(placeholders))",
                arguments: StatementArguments(subscriberIDs))
            {
                topics[row["subscriberId"], default: []].append(row["topic"])
            }
            return topics.mapValues { TopicChoice($0) }
        }
    }
}

/// Topic rows in SQLite, inside the caller's write transaction (the workflows: TopicRows).
extension Database {
    func deleteComparisonTopics(of comparisonID: Int64) throws {
        try execute(sql: "DELETE FROM comparisonTopic WHERE comparisonId = ?", arguments: [comparisonID])
    }

    func insertTopic(_ name: String, at time: Date) throws {
        try execute(
            sql: "INSERT INTO topic (name, firstSeenAt) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
            arguments: [name, time])
    }

    func linkTopic(_ name: String, comparisonID: Int64) throws {
        // `topic.name` compares without case, so this finds the spelling stored.
        try execute(
            sql: """
                INSERT INTO comparisonTopic (comparisonId, topic) SELECT ?, name FROM topic WHERE name = ?
                ON CONFLICT DO NOTHING
                """, arguments: [comparisonID, name])
    }

    func subscriberTopics(subscriberID: Int64) throws -> [String] {
        try String.fetchAll(self, sql: "SELECT topic FROM subscriberTopic WHERE subscriberId = ?", arguments: [subscriberID])
    }

    func deleteSubscriberTopics(subscriberID: Int64) throws {
        try execute(sql: "DELETE FROM subscriberTopic WHERE subscriberId = ?", arguments: [subscriberID])
    }

    func insertSubscriberTopic(_ topic: String, subscriberID: Int64) throws {
        try execute(
            sql: "INSERT INTO subscriberTopic (subscriberId, topic) VALUES (?, ?)", arguments: [subscriberID, topic])
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
