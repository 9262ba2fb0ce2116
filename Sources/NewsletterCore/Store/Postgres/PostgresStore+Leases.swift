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

extension PostgresStore {
    /// The pending rows of a week in an index of their own. A claim asks for the first few
    /// pending rows in subscriber order; with only `(week, state, subscriber_id)` and the primary
    /// key to choose from, the planner walked the primary key past every row already sent and
    /// filtered them (the statistics still said nearly all rows were pending): at 1,000,000
    /// subscribers a claim read 100,000 buffers and took a quarter of a second, and three
    /// senders together sent 440 messages a second; on this index, 1,080.
    static let pendingQueueMigration = Migration(
        version: 5, name: "the ledger's pending rows, indexed by themselves",
        statements: [
            "CREATE INDEX delivery_pending ON delivery (week, subscriber_id) WHERE state = 'pending'"
        ])
}

/// The ledger's lease bookkeeping, used by the ledger (PostgresStore+Delivery.swift): who is
/// queued, which senders are registered and live, and a clean stop.
extension PostgresStore {
    /// A pending row for every subscriber the core's rule (DeliveryEligibility) says gets the issue.
    static func enqueueEligible(_ week: IssueWeek, at time: Date, _ connection: PostgresSession) async throws -> Int {
        let statuses = DeliveryEligibility.statuses.map(\.rawValue)
        let includesPaused = DeliveryEligibility.includesPaused
        return try await connection.run(
            """
            INSERT INTO delivery (week, subscriber_id, state, updated_at)
            SELECT \(week.description), id, 'pending', \(time) FROM subscriber
            WHERE status = ANY(\(statuses)) AND (\(includesPaused) OR NOT paused)
            ON CONFLICT (week, subscriber_id) DO NOTHING
            """)
    }

    static func registerSender(
        _ sender: SenderIdentity, week: IssueWeek, at time: Date, lease: TimeInterval, _ connection: PostgresSession
    ) async throws {
        let deadline = time.addingTimeInterval(lease)
        try await connection.run(
            """
            INSERT INTO sender (id, week, host, pid, started_at, lease_deadline)
            VALUES (\(sender.id), \(week.description), \(sender.host), \(Int(sender.pid)), \(time), \(deadline))
            ON CONFLICT (id) DO UPDATE SET week = EXCLUDED.week, lease_deadline = EXCLUDED.lease_deadline
            """)
    }

    /// Puts the sender's unsent rows back to `pending` and forgets the sender (a clean stop).
    func releaseSender(_ sender: SenderIdentity, week: IssueWeek, at time: Date) async throws -> Int {
        try await transaction { connection in
            try await Self.lockSender(sender, connection)
            let released = try await connection.run(
                """
                UPDATE delivery SET state = 'pending', attempts = GREATEST(attempts - 1, 0), lease_owner = NULL,
                    lease_deadline = NULL, updated_at = \(time)
                WHERE week = \(week.description) AND state = 'sending' AND lease_owner = \(sender.id)
                """)
            try await connection.run("DELETE FROM sender WHERE id = \(sender.id)")
            return released
        }
    }

    public func liveSenders(_ week: IssueWeek, at time: Date) async throws -> [SenderStatus] {
        try await read { connection in
            try await connection.rows(
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

/// A sender's lease as its own process sees it, by its monotonic clock (which runs on while the
/// process is stopped). Once it went too long without renewing, its claims may be another
/// sender's, and a renewal afterwards cannot make them its own again: it stays lapsed until the
/// next send of the week starts.
struct LeaseState: Sendable {
    var renewedAt: Duration?
    var lapsed = false
    var longestSilence: Duration = .zero

    /// Most of the lease: a quarter is kept back for the message about to go out.
    static func tooLong(_ silence: Duration, lease: TimeInterval) -> Bool { silence.seconds >= lease * 0.75 }

    mutating func renew(at now: Duration, lease: TimeInterval) {
        if let renewedAt, Self.tooLong(now - renewedAt, lease: lease) {
            lapsed = true
            longestSilence = max(longestSilence, now - renewedAt)
        }
        renewedAt = now
    }
}

/// What a sender did that its row in `sender` does not show yet.
struct SenderCounts: Sendable, Equatable {
    var claimed = 0
    var sent = 0
}
