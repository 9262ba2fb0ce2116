import Foundation
import GRDB

extension DeliveryState: DatabaseValueConvertible {}

extension AppDatabase: DeliveryLedger {
    public func prepareDelivery(_ week: IssueWeek, addSubscribers: Bool) async throws -> (added: Int, resumed: Int) {
        try await write { db in
            let now = self.clock.now()
            if addSubscribers {
                // Who is eligible is the core's rule (DeliveryEligibility), spelled here as arguments.
                let statuses = DeliveryEligibility.statuses.map(\.rawValue)
                let placeholders = databaseQuestionMarks(count: statuses.count)
                try db.execute(
                    sql: """
                        INSERT INTO delivery (week, subscriber_id, state, updated_at)
                        SELECT ?, id, 'pending', ? FROM subscriber
                        WHERE status IN (\(placeholders)) AND (? OR NOT paused)
                        ON CONFLICT(week, subscriber_id) DO NOTHING
                        """,
                    arguments: StatementArguments([week.description, now] as [any DatabaseValueConvertible])
                        + StatementArguments(statuses) + [DeliveryEligibility.includesPaused])
            }
            let added = addSubscribers ? db.changesCount : 0
            try db.execute(
                sql: "UPDATE delivery SET state = 'pending', updated_at = ? WHERE week = ? AND state = 'sending'",
                arguments: [now, week.description])
            return (added, db.changesCount)
        }
    }

    public func claimDeliveries(_ week: IssueWeek, limit: Int, runStarted: Date) async throws -> [DeliveryClaim] {
        try await write { db in
            // Formatted once for the batch's every row, without ICU (StoredDate).
            let now = StoredDate.databaseValue(self.clock.now())
            var claims: [DeliveryClaim] = []
            var left: [Int64] = []
            // Pending rows first, then rows an earlier run deferred; each query walks the
            // (week, state, subscriberId) index, never the rows already sent. The rows' states
            // change only at the end, all at once: the cursor (`after`) already moves past them.
            let queries: [(String, StatementArguments)] = [
                ("d.state = 'pending'", []),
                ("d.state = 'deferred' AND d.updated_at < ?", [runStarted]),
            ]
            for (condition, extra) in queries where claims.count < limit {
                var after: Int64 = 0
                let select = try db.cachedStatement(
                    sql: """
                        SELECT s.*, d.attempts AS deliveryAttempts,
                               (SELECT GROUP_CONCAT(t.topic, char(10)) FROM subscriber_topic t WHERE t.subscriber_id = s.id)
                               AS deliveryTopics
                        FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id
                        WHERE d.week = ? AND \(condition) AND d.subscriber_id > ? ORDER BY d.subscriber_id LIMIT ?
                        """)
                while claims.count < limit {
                    let rows = try Row.fetchAll(
                        select, arguments: [week.description] + extra + [after, limit - claims.count])
                    guard let last = rows.last else { break }
                    after = last["id"]
                    for row in rows {
                        let subscriber = try Subscriber(row: row)
                        guard DeliveryEligibility.isEligible(subscriber) else {
                            // Whoever left or paused since the ledger row was written is not sent to.
                            left.append(subscriber.id)
                            continue
                        }
                        let topics: String? = row["deliveryTopics"]
                        claims.append(
                            DeliveryClaim(
                                subscriber: subscriber, attempt: (row["deliveryAttempts"] as Int? ?? 0) + 1,
                                unsubscribeToken: Self.newToken(),
                                topics: TopicChoice(topics?.split(separator: "\n").map(String.init) ?? []),
                                envelopeToken: VERPAddress.newToken()))
                    }
                }
            }
            let ids = claims.map(\.subscriber.id)
            try Self.execute(
                "UPDATE delivery SET state = 'skipped', updated_at = ? WHERE week = ? AND subscriber_id IN", left,
                arguments: [now, week.description], db)
            try Self.execute(
                "UPDATE delivery SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE week = ? AND subscriber_id IN",
                ids, arguments: [now, week.description], db)
            try Self.insert(
                "INSERT INTO subscriber_token (token_hash, subscriber_id, purpose, created_at) VALUES", claims,
                row: "(?, ?, 'unsubscribe', ?)", db
            ) { [Self.tokenHash($0.unsubscribeToken), $0.subscriber.id, now] }
            try Self.insert(
                "INSERT INTO verp_token (token_hash, week, subscriber_id, created_at) VALUES", claims,
                row: "(?, ?, ?, ?)", db
            ) { [Self.tokenHash($0.envelopeToken), week.description, $0.subscriber.id, now] }
            return claims
        }
    }

    /// Rows per multi-row statement: far below SQLite's limit on bound values.
    private static let rowsPerStatement = 100

    /// `sql` followed by ` (?, ?, …)` for `ids`, in chunks, each a statement prepared once.
    private static func execute(_ sql: String, _ ids: [Int64], arguments: StatementArguments, _ db: Database) throws {
        for start in stride(from: 0, to: ids.count, by: rowsPerStatement) {
            let chunk = ids[start..<min(start + rowsPerStatement, ids.count)]
            let statement = try db.cachedStatement(
                sql: sql + " (" + Array(repeating: "?", count: chunk.count).joined(separator: ", ") + ")")
            try statement.execute(arguments: arguments + StatementArguments(chunk))
        }
    }

    /// A multi-row INSERT: `sql` then one `row` of placeholders per item, in chunks.
    private static func insert<Item>(
        _ sql: String, _ items: [Item], row: String, _ db: Database,
        values: (Item) -> [(any DatabaseValueConvertible)?]
    ) throws {
        for start in stride(from: 0, to: items.count, by: rowsPerStatement) {
            let chunk = items[start..<min(start + rowsPerStatement, items.count)]
            let statement = try db.cachedStatement(
                sql: sql + " " + Array(repeating: row, count: chunk.count).joined(separator: ", "))
            var arguments = StatementArguments()
            for item in chunk { arguments += StatementArguments(values(item)) }
            try statement.execute(arguments: arguments)
        }
    }

    public func recordSent(_ week: IssueWeek, subscriberID: Int64, messageID: String, reply: String) async throws {
        try await write { db in
            let now = self.clock.now()
            try db.execute(
                sql: """
                    UPDATE delivery SET state = 'sent', message_id = ?, last_reply = ?, sent_at = ?, updated_at = ?
                    WHERE week = ? AND subscriber_id = ? AND state = 'sending'
                    """, arguments: [messageID, reply, now, now, week.description, subscriberID])
        }
    }

    public func recordDeliveries(_ week: IssueWeek, _ group: [DeliveryRecord]) async throws {
        let records = DeliveryRecord.firstPerSubscriber(group)
        guard !records.isEmpty else { return }
        try await writer.writeWithoutTransaction { db in
            // The time as the column stores it, formatted once for every row of the group.
            let now = StoredDate.databaseValue(clock.now())
            // A group is one statement when it fits (it holds one outcome per connection), and
            // SQLite commits a lone statement atomically: no BEGIN and COMMIT of its own to run.
            if records.count <= Self.rowsPerStatement {
                return try Self.recordGroup(records[...], week: week, at: now, db)
            }
            try db.inTransaction {
                for start in stride(from: 0, to: records.count, by: Self.rowsPerStatement) {
                    try Self.recordGroup(
                        records[start..<min(start + Self.rowsPerStatement, records.count)], week: week, at: now, db)
                }
                return .commit
            }
        }
    }

    /// One UPDATE for a group of outcomes, joined to their rows by a VALUES list of
    /// (subscriberId, state, messageId, reply, relay); only rows still `sending` change, and a deferred
    /// row keeps its messageId and sentAt.
    private static func recordGroup(
        _ records: ArraySlice<DeliveryRecord>, week: IssueWeek, at now: DatabaseValue, _ db: Database
    ) throws {
        let statement = try db.cachedStatement(
            sql: """
                UPDATE delivery SET state = v.column2,
                    message_id = CASE v.column2 WHEN 'sent' THEN v.column3 ELSE message_id END,
                    last_reply = v.column4,
                    relay = CASE v.column2 WHEN 'sent' THEN v.column5 ELSE relay END,
                    sent_at = CASE v.column2 WHEN 'sent' THEN ? ELSE sent_at END,
                    updated_at = ?
                FROM (VALUES \(Array(repeating: "(?, ?, ?, ?, ?)", count: records.count).joined(separator: ", "))) AS v
                WHERE delivery.week = ? AND delivery.subscriber_id = v.column1 AND delivery.state = 'sending'
                """)
        var arguments: StatementArguments = [now, now]
        for record in records {
            switch record {
            case .sent(let id, let messageID, let reply, let relay):
                arguments += [id, DeliveryState.sent, messageID, reply, relay]
            case .deferred(let id, let reply): arguments += [id, DeliveryState.deferred, nil, reply, nil]
            }
        }
        arguments += [week.description]
        try statement.execute(arguments: arguments)
    }

    public func recordDeferred(_ week: IssueWeek, subscriberID: Int64, reply: String) async throws {
        try await write { db in
            try db.execute(
                sql:
                    "UPDATE delivery SET state = 'deferred', last_reply = ?, updated_at = ? WHERE week = ? AND subscriber_id = ? AND state = 'sending'",
                arguments: [reply, self.clock.now(), week.description, subscriberID])
        }
    }

    public func recordFailed(
        _ week: IssueWeek, subscriberID: Int64, reply: String, refusal: BounceEvidence, rule: BounceRule, at time: Date
    ) async throws {
        try await transaction { rows in
            let marked = try await rows.access { db in
                try db.execute(
                    sql:
                        "UPDATE delivery SET state = 'failed', last_reply = ?, updated_at = ? WHERE week = ? AND subscriber_id = ? AND state = 'sending'",
                    arguments: [reply, time, week.description, subscriberID])
                return db.changesCount > 0
            }
            guard marked else { return }  // not this run's row
            try await rows.recordRefusal(refusal, week: week, subscriberID: subscriberID, rule: rule, at: time)
        }
    }

    public func releaseClaims(_ week: IssueWeek, subscriberIDs: [Int64]) async throws {
        guard !subscriberIDs.isEmpty else { return }
        try await write { db in
            for id in subscriberIDs {
                try db.execute(
                    sql: """
                        UPDATE delivery SET state = 'pending', attempts = MAX(attempts - 1, 0), updated_at = ?
                        WHERE week = ? AND subscriber_id = ? AND state = 'sending'
                        """, arguments: [self.clock.now(), week.description, id])
            }
        }
    }

    /// One sender at a time (send.lock) works a SQLite ledger: its claims cannot be taken.
    public func ensureClaimsHeld(_ week: IssueWeek) async throws {}

    /// One sender at a time (send.lock) holds a SQLite ledger: nothing to hand back.
    public func finishDelivery(_ week: IssueWeek) async throws {}

    /// One sender at a time works a SQLite ledger, so the list's buckets live in its memory.
    public func takeSendTokens(_ wanted: Int, limit: ListSendLimit, bucket: String, at time: Date) async throws -> Int {
        sendBuckets.withLock { buckets in
            let taken = limit.take(wanted, stored: buckets[bucket], now: time)
            buckets[bucket] = (taken.tokens, taken.updated)
            return taken.granted
        }
    }

    public func deliveryCounts(_ week: IssueWeek) async throws -> [DeliveryState: Int] {
        try await read { db in
            var counts: [DeliveryState: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT state, COUNT(*) AS n FROM delivery WHERE week = ? GROUP BY state
                    UNION ALL SELECT state, COUNT(*) AS n FROM erased_delivery WHERE week = ? GROUP BY state
                    """, arguments: [week.description, week.description])
            {
                if let state = DeliveryState(rawValue: row["state"]) { counts[state, default: 0] += row["n"] as Int }
            }
            return counts
        }
    }

    public func deliveryReplies(_ week: IssueWeek, state: DeliveryState) async throws -> [(
        email: String, reply: String
    )] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT s.email, d.last_reply FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id
                    WHERE d.week = ? AND d.state = ? ORDER BY s.id
                    """, arguments: [week.description, state]
            ).map { ($0["email"], $0["last_reply"] ?? "") }
        }
    }

    /// The core's token rule (LinkToken), as the SQLite store's code calls it.
    static func newToken() -> String { LinkToken.make() }

    static func tokenHash(_ token: String) -> String { LinkToken.hash(token) }
}
