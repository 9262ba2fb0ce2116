import Foundation
import PostgresNIO

/// The ledger on PostgreSQL, shared by any number of senders. Each `PostgresStore` is one
/// sender (`sender`): it claims rows under its lease (`FOR UPDATE SKIP LOCKED`, so concurrent
/// claims never take the same row, and wait for each other only when nothing else is left),
/// renews the lease while it works, and records an outcome only on a row that is still its own.
/// A row whose lease ran out (its sender died or stalled) is claimed again by whoever asks next;
/// the stalled sender's late record then changes nothing, and the new owner's stands.
extension PostgresStore: DeliveryLedger {
    var lease: TimeInterval { TimeInterval(location.leaseSeconds) }

    public func prepareDelivery(_ week: IssueWeek, addSubscribers: Bool) async throws -> (added: Int, resumed: Int) {
        let now = clock.now()
        let result = try await transaction { connection in
            try await Self.registerSender(sender, week: week, at: now, lease: lease, connection)
            let added = addSubscribers ? try await Self.enqueueEligible(week, at: now, connection) : 0
            // Rows in flight at a sender that died (its lease ran out), at a SQLite sender when
            // the store was copied (no lease), or at this sender's own earlier send of the week:
            // back to the queue. Another live sender's rows stay its own.
            // SKIP LOCKED: a row another sender's open transaction holds is that sender's business.
            let resumed = try await connection.run(
                """
                UPDATE delivery d SET state = 'pending', lease_owner = NULL, lease_deadline = NULL, updated_at = \(now)
                FROM (SELECT week, subscriber_id FROM delivery
                      WHERE week = \(week.description) AND state = 'sending'
                        AND (lease_deadline IS NULL OR lease_deadline < \(now) OR lease_owner = \(sender.id))
                      FOR UPDATE SKIP LOCKED) AS abandoned
                WHERE d.week = abandoned.week AND d.subscriber_id = abandoned.subscriber_id
                """)
            return (added, resumed)
        }
        let started = clock.uptime()
        leaseState.withLock { $0 = LeaseState(renewedAt: started) }
        return result
    }

    /// Where a claim looks, in order: new rows, rows whose sender's lease ran out, then rows an
    /// earlier run deferred.
    private enum ClaimSource: CaseIterable {
        case pending, abandoned, deferred
    }

    /// What a claim does with a row another transaction holds: passes it by, or waits for that
    /// transaction to end and takes the row if it is still claimable then.
    private enum RowLocks {
        case skip, wait
    }

    public func claimDeliveries(_ week: IssueWeek, limit: Int, runStarted: Date) async throws -> [DeliveryClaim] {
        guard limit > 0 else { return [] }
        // A sender whose lease lapsed claims nothing more: its run stops, and the next starts afresh.
        try await ensureClaimsHeld(week)
        let now = clock.now()
        let deadline = now.addingTimeInterval(lease)
        // The rows already held keep their deadline until half the lease has passed, as on the
        // record path: renewing them on every claim rewrote each row about twice more per send.
        let renewal = leaseRenewalDue()
        let claims = try await transaction { connection in
            // Only a renewal waits for the sender's row, and takes it first: this process's
            // transactions then take their locks in one order and never deadlock one another.
            // Locked in every claim, that row made this process's claims wait for each other.
            // Before this claim's rows are taken, so they are written once, with their deadline.
            if let renewal {
                try await Self.lockSender(sender, connection)
                try await reportCounts(connection)
                try await Self.renewLease(week, sender: sender, deadline: renewal.deadline, connection)
            }
            var claims: [DeliveryClaim] = []
            /// Takes `source`'s rows in batches until the claim is full or none is left.
            func take(_ source: ClaimSource, _ locks: RowLocks) async throws {
                while claims.count < limit {
                    let rows = try await Self.claimableRows(
                        week, source, locks, limit: limit - claims.count, now: now, runStarted: runStarted,
                        connection)
                    if rows.isEmpty { break }
                    var eligible: [Int64] = []
                    var ineligible: [Int64] = []
                    for row in rows.map({ $0.makeRandomAccess() }) {
                        let subscriber = try Self.subscriber(row)
                        let attempts = try row.decode(Int.self, column: "attempts")
                        let topics = try row.decode(String?.self, column: "topics")
                        // Who gets the issue is the core's rule: whoever left or paused since the
                        // row was queued is skipped.
                        guard DeliveryEligibility.isEligible(subscriber) else {
                            ineligible.append(subscriber.id)
                            continue
                        }
                        eligible.append(subscriber.id)
                        claims.append(
                            DeliveryClaim(
                                subscriber: subscriber, attempt: attempts + 1, unsubscribeToken: LinkToken.make(),
                                topics: TopicChoice(topics?.split(separator: "\n").map(String.init) ?? []),
                                envelopeToken: VERPAddress.newToken()))
                    }
                    // Each batch changes state at once, so the next SELECT sees rows not yet looked at.
                    if !eligible.isEmpty {
                        try await connection.run(
                            """
                            UPDATE delivery SET state = 'sending', attempts = attempts + 1, lease_owner = \(sender.id),
                                lease_deadline = \(deadline), updated_at = \(now)
                            WHERE week = \(week.description) AND subscriber_id = ANY(\(eligible))
                            """)
                    }
                    if !ineligible.isEmpty {
                        try await connection.run(
                            """
                            UPDATE delivery SET state = 'skipped', lease_owner = NULL, lease_deadline = NULL, updated_at = \(now)
                            WHERE week = \(week.description) AND subscriber_id = ANY(\(ineligible))
                            """)
                    }
                }
            }
            for source in ClaimSource.allCases where claims.count < limit { try await take(source, .skip) }
            // Rows skipped are not proof that none is left: a row another sender is claiming at
            // this instant becomes its `sending` row or, should that claim fail, `pending` again.
            // Finding nothing else, a claim waits for those claims to end, so an empty claim means
            // no pending row is left (a sender that stopped on one read those rows as pending and
            // exited 1). No deadlock: it holds no pending row but those it locks in subscriber
            // order, as every waiting claim does, and a claim that skips waits for no row.
            if claims.isEmpty { try await take(.pending, .wait) }
            guard !claims.isEmpty else { return claims }
            let ids = claims.map(\.subscriber.id)
            // Both tokens in one statement: one round trip.
            try await connection.run(
                """
                WITH unsubscribe AS (
                    INSERT INTO subscriber_token (token_hash, subscriber_id, purpose, created_at)
                    SELECT hash, id, 'unsubscribe', \(now)
                    FROM UNNEST(\(claims.map { LinkToken.hash($0.unsubscribeToken) }), \(ids)) AS t(hash, id))
                INSERT INTO verp_token (token_hash, week, subscriber_id, created_at)
                SELECT hash, \(week.description), id, \(now)
                FROM UNNEST(\(claims.map { LinkToken.hash($0.envelopeToken) }), \(ids)) AS t(hash, id)
                """)
            return claims
        }
        unreported.withLock { $0.claimed += claims.count }
        await reportCountsIfFree()
        if let renewal { leaseState.withLock { $0.renew(at: renewal.uptime, lease: lease) } }
        return claims
    }

    /// Up to `limit` rows of `source`, locked for this transaction; rows another sender is
    /// claiming at this instant are skipped (`.skip`) or waited for (`.wait`).
    ///
    /// The ledger rows are picked (and locked) first, and only they are joined to their
    /// subscribers, by key. Joined in one query, the planner walked the subscribers' index from
    /// the first id to the first pending row (a merge join): each claim read every subscriber
    /// already sent to, and a 1,000,000-subscriber send slowed to 200 messages a second.
    private static func claimableRows(
        _ week: IssueWeek, _ source: ClaimSource, _ locks: RowLocks, limit: Int, now: Date, runStarted: Date,
        _ connection: PostgresSession
    ) async throws -> [PostgresRow] {
        var query: PostgresQuery = "WITH picked AS MATERIALIZED (SELECT d.subscriber_id, d.attempts FROM delivery d"
        switch source {
        case .pending:
            query.sql += " WHERE d.week = $\(query.binds.count + 1) AND d.state = 'pending'"
            query.binds.append(week.description, context: .default)
        case .abandoned:
            query.sql +=
                " WHERE d.week = $\(query.binds.count + 1) AND d.state = 'sending' AND (d.lease_deadline IS NULL OR d.lease_deadline < $\(query.binds.count + 2))"
            query.binds.append(week.description, context: .default)
            query.binds.append(now, context: .default)
        case .deferred:
            // A run does not retry what it deferred itself.
            query.sql +=
                " WHERE d.week = $\(query.binds.count + 1) AND d.state = 'deferred' AND d.updated_at < $\(query.binds.count + 2)"
            query.binds.append(week.description, context: .default)
            query.binds.append(runStarted, context: .default)
        }
        query.sql +=
            " ORDER BY d.subscriber_id LIMIT $\(query.binds.count + 1) FOR UPDATE\(locks == .skip ? " SKIP LOCKED" : ""))"
        query.binds.append(limit, context: .default)
        query.sql += """

            SELECT \(prefixedSubscriberColumns), d.attempts,
                (SELECT string_agg(t.topic, E'\\n' ORDER BY t.topic) FROM subscriber_topic t WHERE t.subscriber_id = s.id)
                    AS topics
            FROM picked d JOIN subscriber s ON s.id = d.subscriber_id ORDER BY d.subscriber_id
            """
        return try await connection.rows(query)
    }

    static let prefixedSubscriberColumns = subscriberColumns.split(separator: ", ").map { "s.\($0)" }.joined(
        separator: ", ")

    public func recordSent(_ week: IssueWeek, subscriberID: Int64, messageID: String, reply: String) async throws {
        try await recordDeliveries(week, [.sent(subscriberID: subscriberID, messageID: messageID, reply: reply)])
    }

    public func recordDeferred(_ week: IssueWeek, subscriberID: Int64, reply: String) async throws {
        try await recordDeliveries(week, [.deferred(subscriberID: subscriberID, reply: reply)])
    }

    public func recordDeliveries(_ week: IssueWeek, _ group: [DeliveryRecord]) async throws {
        let records = DeliveryRecord.firstPerSubscriber(group)
        guard !records.isEmpty else { return }
        var ids: [Int64] = []
        var states: [String] = []
        var messageIDs: [String] = []
        var replies: [String] = []
        var relays: [String] = []
        for record in records {
            switch record {
            case .sent(let id, let messageID, let reply, let relay):
                ids.append(id)
                states.append(DeliveryState.sent.rawValue)
                messageIDs.append(messageID)
                replies.append(reply)
                relays.append(relay ?? "")
            case .deferred(let id, let reply):
                ids.append(id)
                states.append(DeliveryState.deferred.rawValue)
                messageIDs.append("")
                replies.append(reply)
                relays.append("")
            }
        }
        let now = clock.now()
        // One statement, one round trip: only rows still this sender's (after its lease ran out
        // another sender may hold, and have sent, a row, and that owner's record stands). It
        // locks only those rows, so it cannot deadlock with a claim or a renewal.
        let changed = try await single { connection in
            try await connection.rows(
                """
                UPDATE delivery d SET state = r.state, message_id = COALESCE(NULLIF(r.message_id, ''), d.message_id),
                    last_reply = r.reply, sent_at = CASE WHEN r.state = 'sent' THEN \(now) ELSE d.sent_at END,
                    relay = CASE WHEN r.state = 'sent' THEN NULLIF(r.relay, '') ELSE d.relay END,
                    updated_at = \(now), lease_owner = NULL, lease_deadline = NULL
                FROM UNNEST(\(ids), \(states), \(messageIDs), \(replies), \(relays))
                    AS r(id, state, message_id, reply, relay)
                WHERE d.week = \(week.description) AND d.subscriber_id = r.id AND d.state = 'sending'
                  AND d.lease_owner = \(sender.id)
                RETURNING d.state
                """
            ).map { try $0.decode(String.self) }
        }
        let recorded = changed.count
        let sent = changed.filter { $0 == DeliveryState.sent.rawValue }.count
        unreported.withLock { $0.sent += sent }
        if let renewal = leaseRenewalDue() {
            try await transaction { connection in
                try await Self.lockSender(sender, connection)
                try await reportCounts(connection)
                try await Self.renewLease(week, sender: sender, deadline: renewal.deadline, connection)
            }
            leaseState.withLock { $0.renew(at: renewal.uptime, lease: lease) }
        }
        if recorded < records.count {
            logger.warning(
                "rows taken over by another sender after this one's lease ran out; their owner's record stands",
                metadata: [
                    "week": "\(week)", "rows": "\(records.count - recorded)", "sender": "\(sender.id)",
                    "lease_seconds": "\(location.leaseSeconds)",
                ])
        }
    }

    public func recordFailed(
        _ week: IssueWeek, subscriberID: Int64, reply: String, refusal: BounceEvidence, rule: BounceRule, at time: Date
    ) async throws {
        try await transaction { connection in
            let changed = try await connection.run(
                """
                UPDATE delivery SET state = 'failed', last_reply = \(reply), updated_at = \(time),
                    lease_owner = NULL, lease_deadline = NULL
                WHERE week = \(week.description) AND subscriber_id = \(subscriberID) AND state = 'sending'
                  AND lease_owner = \(sender.id)
                """)
            guard changed > 0 else { return }  // not this sender's row
            try await connection.recordRefusal(refusal, week: week, subscriberID: subscriberID, rule: rule, at: time)
        }
    }

    public func releaseClaims(_ week: IssueWeek, subscriberIDs: [Int64]) async throws {
        guard !subscriberIDs.isEmpty else { return }
        let now = clock.now()
        try await transaction { connection in
            try await connection.run(
                """
                UPDATE delivery SET state = 'pending', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL,
                    lease_deadline = NULL, updated_at = \(now)
                WHERE week = \(week.description) AND subscriber_id = ANY(\(subscriberIDs)) AND state = 'sending'
                  AND lease_owner = \(sender.id)
                """)
        }
    }

    public func recordSkipped(_ week: IssueWeek, subscriberID: Int64, reason: String) async throws {
        let now = clock.now()
        try await transaction { connection in
            try await connection.run(
                """
                UPDATE delivery SET state = 'skipped', last_reply = \(reason), updated_at = \(now),
                    lease_owner = NULL, lease_deadline = NULL
                WHERE week = \(week.description) AND subscriber_id = \(subscriberID) AND state = 'sending'
                  AND lease_owner = \(sender.id)
                """)
        }
    }

    public func finishDelivery(_ week: IssueWeek) async throws {
        _ = try await releaseSender(sender, week: week, at: clock.now())
    }

    public func deliveryCounts(_ week: IssueWeek) async throws -> [DeliveryState: Int] {
        try await read { connection in
            var counts: [DeliveryState: Int] = [:]
            for row in try await connection.rows(
                """
                SELECT state, COUNT(*) FROM delivery WHERE week = \(week.description) GROUP BY state
                UNION ALL SELECT state, COUNT(*) FROM erased_delivery WHERE week = \(week.description) GROUP BY state
                """)
            {
                let (state, count) = try row.decode((String, Int).self)
                counts[try Self.enumValue(DeliveryState.self, state, "delivery.state"), default: 0] += count
            }
            return counts
        }
    }

    public func deliveryReplies(_ week: IssueWeek, state: DeliveryState) async throws -> [(
        email: String, reply: String
    )] {
        try await read { connection in
            try await connection.rows(
                """
                SELECT s.email, COALESCE(d.last_reply, '') FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id
                WHERE d.week = \(week.description) AND d.state = \(state.rawValue) ORDER BY s.id
                """
            ).map { row in
                let (email, reply) = try row.decode((String, String).self)
                return (email, reply)
            }
        }
    }

    // MARK: The lease

    public func ensureClaimsHeld(_ week: IssueWeek) async throws {
        let now = clock.uptime()
        let state = leaseState.withLock { $0 }
        guard let renewed = state.renewedAt else { return }
        let silent = now - renewed
        if state.lapsed || LeaseState.tooLong(silent, lease: lease) {
            throw LeaseExpired(silentFor: state.lapsed ? state.longestSilence : silent, lease: lease)
        }
    }

    /// When half the lease has passed since the last renewal: the deadline to renew to.
    private func leaseRenewalDue() -> (deadline: Date, uptime: Duration)? {
        let uptime = clock.uptime()
        let due = leaseState.withLock { state in
            state.renewedAt.map { (uptime - $0).seconds >= lease / 2 } ?? true
        }
        return due ? (clock.now().addingTimeInterval(lease), uptime) : nil
    }

    /// Adds the rows claimed and recipients recorded sent since the last report to the sender's
    /// row, inside the caller's transaction (which holds that row); put back if it fails.
    func reportCounts(_ connection: PostgresSession) async throws {
        let counts = unreported.withLock { counts in
            defer { counts = SenderCounts() }
            return counts
        }
        guard counts != SenderCounts() else { return }
        do {
            try await connection.run(
                """
                UPDATE sender SET claimed = claimed + \(counts.claimed), sent = sent + \(counts.sent)
                WHERE id = \(sender.id)
                """)
        } catch {
            unreported.withLock {
                $0.claimed += counts.claimed
                $0.sent += counts.sent
            }
            throw error
        }
    }

    /// Adds what was not reported yet to the sender's row, so `status` shows it, unless another
    /// of this process's transactions holds that row (a renewal): then the next report does.
    /// One statement that waits for no lock, so claims never queue behind one another for it.
    /// A failure keeps the counts for the next report; the claim it follows stands.
    func reportCountsIfFree() async {
        let counts = unreported.withLock { counts in
            defer { counts = SenderCounts() }
            return counts
        }
        guard counts != SenderCounts() else { return }
        let written = try? await single { connection in
            try await connection.run(
                """
                UPDATE sender SET claimed = claimed + \(counts.claimed), sent = sent + \(counts.sent)
                WHERE id = (SELECT id FROM sender WHERE id = \(sender.id) FOR UPDATE SKIP LOCKED)
                """)
        }
        if written != 1 {
            unreported.withLock {
                $0.claimed += counts.claimed
                $0.sent += counts.sent
            }
        }
    }

    /// Locks the sender's row for the rest of the transaction (it may be gone: a sender that
    /// finished, or one `store copy` never had; then there is nothing to lock).
    static func lockSender(_ sender: SenderIdentity, _ connection: PostgresSession) async throws {
        try await connection.run("SELECT 1 FROM sender WHERE id = \(sender.id) FOR UPDATE")
    }

    static func renewLease(_ week: IssueWeek, sender: SenderIdentity, deadline: Date, _ connection: PostgresSession)
        async throws
    {
        try await connection.run("UPDATE sender SET lease_deadline = \(deadline) WHERE id = \(sender.id)")
        // SKIP LOCKED: a row this sender is recording at this instant is about to leave its
        // hands anyway, and waiting for it (in another order than the record's) could deadlock.
        try await connection.run(
            """
            UPDATE delivery d SET lease_deadline = \(deadline)
            FROM (SELECT week, subscriber_id FROM delivery
                  WHERE week = \(week.description) AND state = 'sending' AND lease_owner = \(sender.id)
                  FOR UPDATE SKIP LOCKED) AS held
            WHERE d.week = held.week AND d.subscriber_id = held.subscriber_id
            """)
    }
}
