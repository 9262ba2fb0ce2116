import Foundation
import GRDB

/// The SQLite schema's history. Migrations v1 to v10 are kept as they ran (camelCase names, as
/// GRDB's conventions made them); v11 renames every table and column to snake_case, the
/// PostgreSQL schema's convention, so one name means one column in both stores and in
/// `store copy`. Everything outside this file uses the snake_case names.
extension AppDatabase {

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: comparisons") { db in
            try db.create(table: "comparison") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("source", .text).notNull().unique()
                t.column("url", .text)
                t.column("title", .text).notNull()
                t.column("contentHash", .text).notNull()
                t.column("recordHash", .text).notNull().indexed()
                t.column("published", .datetime).notNull().indexed()
                t.column("publishedFrom", .text).notNull()
                t.column("layout", .text).notNull()
                t.column("markup", .text).notNull()
                t.column("firstSeenAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "comparisonTool") { t in
                t.belongsTo("comparison", onDelete: .cascade).notNull()
                t.column("position", .integer).notNull()
                t.primaryKey(["comparisonId", "position"])
                t.column("name", .text).notNull()
                t.column("tagline", .text).notNull()
                t.column("category", .text)
                t.column("description", .text).notNull()
                t.column("panelShipPercent", .integer).check { $0 >= 0 && $0 <= 100 }
                t.column("panelVerdict", .text)
                t.column("shipVotes", .integer)
                t.column("skipVotes", .integer)
                t.column("pricing", .text)
                t.column("entry", .text)
            }
            try db.create(table: "take") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("comparison", onDelete: .cascade).notNull()
                t.column("position", .integer).notNull()
                t.column("tool", .text).notNull()
                t.column("role", .text).notNull().check { ReviewerRole.allCases.map(\.rawValue).contains($0) }
                t.column("score", .integer).check { $0 >= 0 && $0 <= 100 }
                t.column("verdict", .text)
                t.column("text", .text).notNull()
                t.column("roleInferred", .boolean).notNull()
                t.column("toolInferred", .boolean).notNull()
                t.column("line", .integer)
            }
            try db.create(table: "missingTake") { t in
                t.belongsTo("comparison", onDelete: .cascade).notNull()
                t.column("tool", .text).notNull()
                t.column("role", .text).notNull()
            }
        }
        migrator.registerMigration("v2: issues") { db in
            try db.create(table: "issue") { t in
                t.primaryKey("week", .text)
                t.column("status", .text).notNull()
                t.column("subject", .text)
                t.column("html", .text)
                t.column("text", .text)
                t.column("manifest", .text)
                t.column("draftHash", .text)
                t.column("approvedHash", .text)
                t.column("approvedAt", .datetime)
                t.column("sentAt", .datetime)
                t.column("skipReason", .text)
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "issueComparison") { t in
                t.column("week", .text).notNull().references("issue", onDelete: .cascade)
                t.column("comparisonId", .integer).notNull().references("comparison", onDelete: .restrict)
                t.column("position", .integer).notNull()
                t.primaryKey(["week", "comparisonId"])
            }
        }
        migrator.registerMigration("v3: subscribers and the delivery ledger") { db in
            try db.create(table: "subscriber") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("email", .text).notNull().unique().collate(.nocase)
                t.column("name", .text)
                t.column("status", .text).notNull().indexed()
                t.column("createdAt", .datetime).notNull()
                t.column("permanentFailures", .integer).notNull().defaults(to: 0)
            }
            try db.create(table: "delivery") { t in
                t.column("week", .text).notNull()
                t.column("subscriberId", .integer).notNull().references("subscriber", onDelete: .cascade)
                t.primaryKey(["week", "subscriberId"])
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("lastReply", .text)
                t.column("messageId", .text)
                t.column("nextAttemptAt", .datetime)
                t.column("sentAt", .datetime)
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(index: "delivery_state", on: "delivery", columns: ["week", "state"])
            // One-click unsubscribe tokens: random, stored only as their SHA-256.
            try db.create(table: "subscriberToken") { t in
                t.primaryKey("tokenHash", .text)
                t.column("subscriberId", .integer).notNull().references("subscriber", onDelete: .cascade).indexed()
                t.column("purpose", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.column("usedAt", .datetime)
            }
        }
        migrator.registerMigration("v4: delivery queue index") { db in
            // Claims walk the pending rows in subscriber order; without this they would scan
            // past every row already sent, which grows quadratically with the list.
            try db.drop(index: "delivery_state")
            try db.create(index: "delivery_queue", on: "delivery", columns: ["week", "state", "subscriberId"])
        }
        migrator.registerMigration("v5: signup, consent and the endpoint's mail queue") { db in
            try db.alter(table: "subscriber") { t in
                // `html` (multipart) or `text` (plain text only), chosen on the preferences page.
                t.add(column: "format", .text).notNull().defaults(to: "html")
                // A paused subscriber stays on the list but gets no issues until unpaused.
                t.add(column: "paused", .boolean).notNull().defaults(to: false)
                t.add(column: "confirmedAt", .datetime)
            }
            // Confirmation tokens expire; unsubscribe tokens (in sent mail) do not.
            try db.alter(table: "subscriberToken") { t in t.add(column: "expiresAt", .datetime) }
            // Who agreed to what, when and from where: kept for audit as long as the subscriber is.
            try db.create(table: "consent") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("subscriber", onDelete: .cascade).notNull()
                t.column("event", .text).notNull()
                t.column("at", .datetime).notNull()
                t.column("clientAddress", .text)
                t.column("userAgent", .text)
                t.column("detail", .text)
            }
            // Mail the endpoint sends (confirmation, welcome). A row is only ever marked sent
            // after the server accepted it, so a failing SMTP server delays it but cannot lose it.
            try db.create(table: "endpointMail") { t in
                t.autoIncrementedPrimaryKey("id")
                t.belongsTo("subscriber", onDelete: .cascade).notNull()
                t.column("kind", .text).notNull()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("createdAt", .datetime).notNull()
                t.column("nextAttemptAt", .datetime).notNull()
                t.column("sentAt", .datetime)
                t.column("lastReply", .text)
            }
            try db.create(index: "endpointMail_due", on: "endpointMail", columns: ["state", "nextAttemptAt"])
        }
        // Registered by name after the others: see AppDatabase+Summaries.swift and AppDatabase+Runs.swift.
        registerSummaryMigrations(&migrator)
        migrator.registerMigration("v7-runs", migrate: Self.migrateRuns)
        // AppDatabase+Bounces.swift, AppDatabase+Topics.swift and AppDatabase+Archive.swift.
        migrator.registerMigration("v8-bounces", migrate: Self.migrateBounces)
        migrator.registerMigration("v9-topics", migrate: Self.migrateTopics)
        migrator.registerMigration("v10-archive", migrate: Self.migrateArchive)
        migrator.registerMigration("v11-snake-case", migrate: Self.renameToSnakeCase)
        // AppDatabase+Clicks.swift.
        migrator.registerMigration("v12-clicks", migrate: Self.migrateClicks)
        // AppDatabase+Relays.swift.
        migrator.registerMigration("v13-relays", migrate: Self.migrateRelays)
        // AppDatabase+Reports.swift.
        migrator.registerMigration("v14-reports", migrate: Self.migrateReports)
        // ProviderEventLedger.swift.
        migrator.registerMigration("v15-provider-events", migrate: Self.migrateProviderEvents)
        // EditorAccountRows.swift.
        migrator.registerMigration("v16-editor-accounts", migrate: Self.migrateEditorAccounts)
        // AppDatabase+Readers.swift.
        migrator.registerMigration("v17-readers", migrate: Self.migrateReaders)
        // AppDatabase+Webhooks.swift.
        migrator.registerMigration("v18-webhooks", migrate: Self.migrateWebhooks)
        // APIKeys.swift.
        migrator.registerMigration("v19-api-keys", migrate: Self.migrateAPIKeys)
        return migrator
    }

    /// `v10-archive`: an editor may hide a sent issue from the public archive.
    static func migrateArchive(_ db: Database) throws {
        try db.alter(table: "issue") { t in t.add(column: "hiddenFromArchive", .boolean).notNull().defaults(to: false) }
    }

    static func migrateBounces(_ db: Database) throws {
        // One VERP token per claimed copy (a copy claimed again after a crash gets a new one;
        // both keep working), stored as its SHA-256.
        try db.create(table: "verpToken") { t in
            t.primaryKey("tokenHash", .text)
            t.column("week", .text).notNull()
            t.column("subscriberId", .integer).notNull().references("subscriber", onDelete: .cascade).indexed()
            t.column("createdAt", .datetime).notNull()
        }
        // Every report learnt, from the mailbox, a file or a refusal at send time; `key` makes
        // a report fetched twice count once.
        try db.create(table: "bounceEvent") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("key", .text).notNull().unique()
            t.column("subscriberId", .integer).references("subscriber", onDelete: .cascade)
            t.column("week", .text)
            t.column("kind", .text).notNull()
            t.column("status", .text)
            t.column("action", .text)
            t.column("diagnostic", .text)
            t.column("source", .text).notNull()
            t.column("receivedAt", .datetime).notNull()
            /// When the bounced copy was sent (the ledger's sentAt), else `receivedAt`: soft
            /// bounces are counted by it against the window and the last good delivery.
            t.column("messageSentAt", .datetime).notNull()
            t.column("effect", .text).notNull()
        }
        try db.create(index: "bounceEvent_subscriber", on: "bounceEvent", columns: ["subscriberId", "kind"])
        try db.create(index: "bounceEvent_week", on: "bounceEvent", columns: ["week", "kind"])
        // Looking a copy up by the Message-ID a report returns.
        try db.create(index: "delivery_messageId", on: "delivery", columns: ["messageId"])
    }

    static func migrateRuns(_ db: Database) throws {
        try db.create(table: "runWeek") { t in
            t.primaryKey("week", .text)
            t.column("firstRunAt", .datetime).notNull()
            t.column("lastRunAt", .datetime).notNull()
            t.column("lastOutcome", .text).notNull()
            t.column("lastSummary", .text)
            t.column("lastError", .text)
        }
        // One preview copy per editor per draft: a run that waits for approval every hour mails
        // nobody twice, and a changed draft is mailed again.
        try db.create(table: "editorPreview") { t in
            t.column("week", .text).notNull()
            t.column("draftHash", .text).notNull()
            t.column("editor", .text).notNull().collate(.nocase)
            t.primaryKey(["week", "draftHash", "editor"])
            t.column("sentAt", .datetime).notNull()
        }
    }

    /// Registered by name after the other migrations: a parallel branch may add its own
    /// "v5-…", and names (not numbers) keep the two from clashing.
    static func registerSummaryMigrations(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v6-summaries") { db in
            // Keyed by what produced the text: the same model, prompt and source give the same
            // summary, so it is made once.
            try db.create(table: "summary") { t in
                t.column("model", .text).notNull()
                t.column("promptVersion", .text).notNull()
                t.column("sourceHash", .text).notNull()
                t.primaryKey(["model", "promptVersion", "sourceHash"])
                t.column("text", .text).notNull()
                t.column("provider", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("modelName", .text)
                t.column("promptTokens", .integer)
                t.column("completionTokens", .integer)
                t.column("milliseconds", .integer)
                t.column("note", .text)
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "summaryOverride") { t in
                t.column("week", .text).notNull()
                t.column("comparisonId", .integer).notNull().references("comparison", onDelete: .cascade)
                t.primaryKey(["week", "comparisonId"])
                t.column("text", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
        }
    }

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
        // `TopicRows.addTopic`'s two steps, in this schema's names.
        for row in rows {
            let name = TopicAliases.clean(row["category"])
            guard !name.isEmpty else { continue }
            try db.execute(
                sql: "INSERT INTO topic (name, firstSeenAt) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                arguments: [name, row["firstSeenAt"] as Date])
            try db.execute(
                sql: """
                    INSERT INTO comparisonTopic (comparisonId, topic) SELECT ?, name FROM topic WHERE name = ?
                    ON CONFLICT DO NOTHING
                    """, arguments: [row["comparisonId"] as Int64, name])
        }
    }

    /// v11: every camelCase table and column renamed to snake_case. SQLite rewrites the indexes
    /// and foreign keys that name them; the data stays where it is.
    static func renameToSnakeCase(_ db: Database) throws {
        let tables = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                AND name NOT LIKE 'grdb_%' ORDER BY name
                """)
        for table in tables {
            for column in try db.columns(in: table).map(\.name) where column != snakeCase(column) {
                try db.execute(
                    sql: "ALTER TABLE \(table.quotedDatabaseIdentifier) RENAME COLUMN "
                        + "\(column.quotedDatabaseIdentifier) TO \(snakeCase(column).quotedDatabaseIdentifier)")
            }
            if table != snakeCase(table) {
                try db.execute(
                    sql:
                        "ALTER TABLE \(table.quotedDatabaseIdentifier) RENAME TO \(snakeCase(table).quotedDatabaseIdentifier)"
                )
            }
        }
    }

    /// `subscriberId` -> `subscriber_id`.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
