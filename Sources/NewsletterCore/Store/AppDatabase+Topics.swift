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
        for row in rows {
            try insertTopic(row["category"], comparisonID: row["comparisonId"], at: row["firstSeenAt"], db)
        }
    }

    /// Keeps a saved comparison's topics in step with its tools' categories.
    static func replaceTopics(of id: Int64, with comparison: Comparison, at time: Date, in db: Database) throws {
        try db.execute(sql: "DELETE FROM comparisonTopic WHERE comparisonId = ?", arguments: [id])
        for category in comparison.tools.compactMap(\.category) {
            try insertTopic(category, comparisonID: id, at: time, db)
        }
    }

    private static func insertTopic(_ category: String, comparisonID: Int64, at time: Date, _ db: Database) throws {
        let name = TopicAliases.clean(category)
        guard !name.isEmpty else { return }
        try db.execute(
            sql: "INSERT INTO topic (name, firstSeenAt) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
            arguments: [name, time])
        // The spelling first seen names the topic: "developer tools" later is the same one.
        let stored = try String.fetchOne(db, sql: "SELECT name FROM topic WHERE name = ?", arguments: [name]) ?? name
        try db.execute(
            sql: "INSERT INTO comparisonTopic (comparisonId, topic) VALUES (?, ?) ON CONFLICT DO NOTHING",
            arguments: [comparisonID, stored])
    }

    static func replaceTopicChoice(
        _ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date, event: String = "topics",
        _ db: Database
    ) throws {
        let previous = try topicChoice(subscriberID: subscriberID, db)
        guard previous != choice else { return }
        try db.execute(sql: "DELETE FROM subscriberTopic WHERE subscriberId = ?", arguments: [subscriberID])
        for topic in choice.topics {
            try db.execute(
                sql: "INSERT INTO subscriberTopic (subscriberId, topic) VALUES (?, ?)", arguments: [subscriberID, topic])
        }
        try recordConsent(db, subscriberID: subscriberID, event: event, client: client, at: time, detail: "topics=\(choice)")
    }

    static func topicChoice(subscriberID: Int64, _ db: Database) throws -> TopicChoice {
        TopicChoice(
            try String.fetchAll(
                db, sql: "SELECT topic FROM subscriberTopic WHERE subscriberId = ?", arguments: [subscriberID]))
    }
}

extension AppDatabase: TopicStore {
    public func categoryUses() throws -> [(category: String, comparisonID: Int64)] {
        try reader.read { db in
            try Row.fetchAll(db, sql: "SELECT topic, comparisonId FROM comparisonTopic ORDER BY comparisonId").map {
                ($0["topic"], $0["comparisonId"])
            }
        }
    }

    public func categories() throws -> [String] {
        try reader.read { db in try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM topic WHERE EXISTS (SELECT 1 FROM comparisonTopic c WHERE c.topic = topic.name)
                    ORDER BY name
                    """) }
    }

    public func topicChoice(subscriberID: Int64) throws -> TopicChoice {
        try reader.read { db in try Self.topicChoice(subscriberID: subscriberID, db) }
    }

    public func setTopicChoice(_ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date) throws {
        try writer.write { db in
            try Self.replaceTopicChoice(choice, subscriberID: subscriberID, client: client, at: time, db)
        }
    }

    public func readerChoices() throws -> [TopicChoice: Int] {
        try reader.read { db in
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
    public func topicChoices(subscriberIDs: [Int64]) throws -> [Int64: TopicChoice] {
        guard !subscriberIDs.isEmpty else { return [:] }
        return try reader.read { db in
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
