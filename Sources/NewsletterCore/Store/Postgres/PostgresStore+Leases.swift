import Foundation
import PostgresNIO

extension PostgresStore {
    static let leaseMigration = Migration(
        version: 2, name: "the delivery ledger, shared by leased senders",
        statements: [
            """
            CREATE TABLE delivery (
                week text NOT NULL,
                subscriber_id bigint NOT NULL REFERENCES subscriber (id) ON DELETE CASCADE,
                state text NOT NULL CHECK (state IN ('pending', 'sending', 'sent', 'deferred', 'failed', 'skipped')),
                attempts integer NOT NULL DEFAULT 0,
                last_reply text,
                message_id text,
                sent_at timestamptz,
                updated_at timestamptz NOT NULL,
                lease_owner uuid,
                lease_deadline timestamptz,
                PRIMARY KEY (week, subscriber_id)
            )
            """,
            // Claims walk the queue in subscriber order, never the rows already sent.
            "CREATE INDEX delivery_queue ON delivery (week, state, subscriber_id)",
            "CREATE INDEX delivery_lease ON delivery (lease_owner) WHERE lease_owner IS NOT NULL",
            """
            CREATE TABLE sender (
                id uuid PRIMARY KEY,
                week text NOT NULL,
                host text NOT NULL,
                pid integer NOT NULL,
                started_at timestamptz NOT NULL,
                lease_deadline timestamptz NOT NULL,
                claimed bigint NOT NULL DEFAULT 0,
                sent bigint NOT NULL DEFAULT 0
            )
            """,
        ])
}

extension PostgresStore: DeliveryLeaseQueue {
    public func enqueueEligible(_ week: IssueWeek, at time: Date) throws -> Int {
        try transaction { connection in try Self.enqueueEligible(week, at: time, connection) }
    }

    /// A pending row for every subscriber the core's rule (DeliveryEligibility) says gets the issue.
    static func enqueueEligible(_ week: IssueWeek, at time: Date, _ connection: PostgresSession) throws -> Int {
        let statuses = DeliveryEligibility.statuses.map(\.rawValue)
        let includesPaused = DeliveryEligibility.includesPaused
        return try connection.run(
            """
            INSERT INTO delivery (week, subscriber_id, state, updated_at)
            SELECT \(week.description), id, 'pending', \(time) FROM subscriber
            WHERE status = ANY(\(statuses)) AND (\(includesPaused) OR NOT paused)
            ON CONFLICT (week, subscriber_id) DO NOTHING
            """)
    }

    public func registerSender(_ sender: SenderIdentity, week: IssueWeek, at time: Date, lease: TimeInterval) throws {
        try transaction { connection in try Self.registerSender(sender, week: week, at: time, lease: lease, connection) }
    }

    static func registerSender(
        _ sender: SenderIdentity, week: IssueWeek, at time: Date, lease: TimeInterval, _ connection: PostgresSession
    ) throws {
        let deadline = time.addingTimeInterval(lease)
        try connection.run(
            """
            INSERT INTO sender (id, week, host, pid, started_at, lease_deadline)
            VALUES (\(sender.id), \(week.description), \(sender.host), \(Int(sender.pid)), \(time), \(deadline))
            ON CONFLICT (id) DO UPDATE SET week = EXCLUDED.week, lease_deadline = EXCLUDED.lease_deadline
            """)
    }

    public func claim(_ week: IssueWeek, sender: SenderIdentity, limit: Int, at time: Date, lease: TimeInterval) throws
        -> [LeasedDelivery]
    {
        let deadline = time.addingTimeInterval(lease)
        let statuses = DeliveryEligibility.statuses.map(\.rawValue)
        let includesPaused = DeliveryEligibility.includesPaused
        return try transaction { connection in
            try Self.lockSender(sender, connection)
            var claimed: [LeasedDelivery] = []
            // A `sending` row without a lease is one a SQLite sender had in flight when the store
            // was copied: nobody holds it, so it is claimed again, as the SQLite store resumes it.
            // A batch may hold only rows of subscribers who left or paused since the week was
            // queued: those are marked skipped, and the claim goes on, so an empty answer
            // always means the queue is empty.
            while claimed.isEmpty {
                // SKIP LOCKED: a row another sender is claiming this instant is left to it, so
                // concurrent claims neither wait for each other nor take the same row.
                let rows = try connection.rows(
                    """
                    WITH picked AS (
                        SELECT d.week, d.subscriber_id,
                            (s.status = ANY(\(statuses)) AND (\(includesPaused) OR NOT s.paused)) AS eligible
                        FROM delivery d JOIN subscriber s ON s.id = d.subscriber_id
                        WHERE d.week = \(week.description)
                          AND (d.state = 'pending' OR (d.state = 'sending'
                              AND (d.lease_deadline IS NULL OR d.lease_deadline < \(time))))
                        ORDER BY d.subscriber_id LIMIT \(limit)
                        FOR UPDATE OF d SKIP LOCKED)
                    UPDATE delivery d SET
                        state = CASE WHEN picked.eligible THEN 'sending' ELSE 'skipped' END,
                        attempts = d.attempts + CASE WHEN picked.eligible THEN 1 ELSE 0 END,
                        lease_owner = CASE WHEN picked.eligible THEN \(sender.id) END,
                        lease_deadline = CASE WHEN picked.eligible THEN \(deadline) END,
                        updated_at = \(time)
                    FROM picked WHERE d.week = picked.week AND d.subscriber_id = picked.subscriber_id
                    RETURNING d.subscriber_id, d.attempts, picked.eligible
                    """)
                if rows.isEmpty { break }
                for row in rows {
                    let (id, attempts, eligible) = try row.decode((Int64, Int, Bool).self)
                    if eligible { claimed.append(LeasedDelivery(subscriberID: id, attempt: attempts)) }
                }
            }
            try connection.run(
                "UPDATE sender SET claimed = claimed + \(claimed.count), lease_deadline = \(deadline) WHERE id = \(sender.id)"
            )
            return claimed.sorted { $0.subscriberID < $1.subscriberID }
        }
    }

    public func renewLease(_ week: IssueWeek, sender: SenderIdentity, at time: Date, lease: TimeInterval) throws -> Int {
        let deadline = time.addingTimeInterval(lease)
        return try transaction { connection in
            try connection.run("UPDATE sender SET lease_deadline = \(deadline) WHERE id = \(sender.id)")
            return try connection.run(
                """
                UPDATE delivery SET lease_deadline = \(deadline)
                WHERE week = \(week.description) AND state = 'sending' AND lease_owner = \(sender.id)
                """)
        }
    }

    public func recordSent(
        _ week: IssueWeek, subscriberID: Int64, sender: SenderIdentity, messageID: String, reply: String, at time: Date
    ) throws -> Bool {
        try transaction { connection in
            try Self.lockSender(sender, connection)
            // Only while the row is still this sender's: after its lease ran out another may
            // have claimed (and sent) it, and that owner's record stands.
            let changed = try connection.run(
                """
                UPDATE delivery SET state = 'sent', message_id = \(messageID), last_reply = \(reply), sent_at = \(time),
                    updated_at = \(time), lease_owner = NULL, lease_deadline = NULL
                WHERE week = \(week.description) AND subscriber_id = \(subscriberID) AND state = 'sending'
                  AND lease_owner = \(sender.id)
                """)
            if changed > 0 { try connection.run("UPDATE sender SET sent = sent + 1 WHERE id = \(sender.id)") }
            return changed > 0
        }
    }

    public func releaseSender(_ sender: SenderIdentity, week: IssueWeek, at time: Date) throws -> Int {
        try transaction { connection in
            try Self.lockSender(sender, connection)
            let released = try connection.run(
                """
                UPDATE delivery SET state = 'pending', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL,
                    lease_deadline = NULL, updated_at = \(time)
                WHERE week = \(week.description) AND state = 'sending' AND lease_owner = \(sender.id)
                """)
            try connection.run("DELETE FROM sender WHERE id = \(sender.id)")
            return released
        }
    }

    public func liveSenders(_ week: IssueWeek, at time: Date) throws -> [SenderStatus] {
        try read { connection in
            try connection.rows(
                """
                SELECT id, host, pid, started_at, lease_deadline, claimed, sent FROM sender
                WHERE week = \(week.description) AND lease_deadline >= \(time) ORDER BY started_at, id
                """
            ).map { row in
                let (id, host, pid, started, deadline, claimed, sent) = try row.decode(
                    (UUID, String, Int, Date, Date, Int, Int).self)
                return SenderStatus(
                    sender: SenderIdentity(id: id, host: host, pid: Int32(pid)), week: week, startedAt: started,
                    leaseDeadline: deadline, claimed: claimed, sent: sent)
            }
        }
    }
}
