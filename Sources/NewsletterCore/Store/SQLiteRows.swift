import Foundation
import GRDB

/// The workflows' row operations on SQLite, inside a transaction `AppDatabase.transaction`
/// holds open on the writer connection. Each operation is one hop to GRDB's writer queue:
/// the workflows are async (the PostgreSQL session answers over the network), and GRDB's
/// write closures are not, so the transaction spans several closures instead of one.
struct SQLiteRows: Sendable {
    enum Connection {
        /// The writer, inside `AppDatabase.transaction`.
        case writer(any DatabaseWriter)
        /// A reader, each operation on its own snapshot: for one-statement reads.
        case reader(any DatabaseReader)
    }
    let connection: Connection

    func access<T: Sendable>(_ operation: @escaping @Sendable (Database) throws -> T) async throws -> T {
        switch connection {
        case .writer(let writer): try await writer.writeWithoutTransaction(operation)
        case .reader(let reader): try await reader.read(operation)
        }
    }
}

extension AppDatabase {
    /// Runs `body` in one write transaction (BEGIN IMMEDIATE … COMMIT), all of it or nothing.
    /// The gate keeps this process's other writes out of the open transaction; other processes
    /// wait on SQLite's own lock (`busyMode`).
    func transaction<T: Sendable>(_ body: (SQLiteRows) async throws -> T) async throws -> T {
        try await writeGate.withLock {
            try await writer.writeWithoutTransaction { db in
                // A transaction a cancelled task could not roll back is rolled back here.
                if db.isInsideTransaction { try db.rollback() }
                try db.beginTransaction(.immediate)
            }
            do {
                let result = try await body(SQLiteRows(connection: .writer(writer)))
                try await writer.writeWithoutTransaction { db in try db.commit() }
                return result
            } catch {
                rollBackNow()
                throw error
            }
        }
    }

    /// Rolls back whatever transaction the writer holds, synchronously: an async access refuses
    /// to run in a cancelled task, and would leave the transaction, and SQLite's write lock on
    /// the file, to the next writer. Not `async`, so that GRDB's synchronous overload is the one
    /// called.
    private func rollBackNow() {
        try? writer.writeWithoutTransaction { db in
            if db.isInsideTransaction { try db.rollback() }
        }
    }

    /// One write in GRDB's own transaction, kept out of any open `transaction` by the gate.
    func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writeGate.withLock { try await writer.write(updates) }
    }

    /// A workflow that only reads (one statement), on a reader connection.
    func readRows<T: Sendable>(_ body: (SQLiteRows) async throws -> T) async throws -> T {
        if writer is DatabaseQueue { return try await transaction(body) }
        return try await body(SQLiteRows(connection: .reader(reader)))
    }

    /// A read on a reader connection (a snapshot: never sees an open transaction's writes).
    func read<T: Sendable>(_ value: @escaping @Sendable (Database) throws -> T) async throws -> T {
        // The in-memory store has one connection: its reads wait for open transactions.
        if writer is DatabaseQueue { return try await writeGate.withLock { try await reader.read(value) } }
        return try await reader.read(value)
    }
}

extension SQLiteRows: SubscriberRows {
    func insertSubscriber(email: String, name: String?, status: Subscriber.Status, confirmedAt: Date?, at time: Date)
        async throws -> Int64?
    {
        try await access {
            try $0.insertSubscriber(email: email, name: name, status: status, confirmedAt: confirmedAt, at: time)
        }
    }
    func subscriber(id: Int64) async throws -> Subscriber? {
        try await access { try $0.subscriber(id: id) }
    }
    func subscriber(email: String, holdingRow: Bool) async throws -> Subscriber? {
        try await access { try $0.subscriber(email: email, holdingRow: holdingRow) }
    }
    func setStatus(of subscriberID: Int64, to status: Subscriber.Status, from: [Subscriber.Status]) async throws -> Bool
    {
        try await access { try $0.setStatus(of: subscriberID, to: status, from: from) }
    }
    func recordConsent(subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String?)
        async throws
    {
        try await access {
            try $0.recordConsent(subscriberID: subscriberID, event: event, client: client, at: time, detail: detail)
        }
    }
}

extension SQLiteRows: EndpointRows {
    func tokenOwner(_ token: String, purpose: TokenPurpose, holdingRow: Bool) async throws -> TokenOwner? {
        try await access { try $0.tokenOwner(token, purpose: purpose, holdingRow: holdingRow) }
    }
    func insertToken(hash: String, subscriberID: Int64, purpose: TokenPurpose, expiresAt: Date?, at time: Date)
        async throws
    {
        try await access {
            try $0.insertToken(hash: hash, subscriberID: subscriberID, purpose: purpose, expiresAt: expiresAt, at: time)
        }
    }
    func spendToken(_ token: String, at time: Date) async throws {
        try await access { try $0.spendToken(token, at: time) }
    }
    func spendConfirmationTokens(subscriberID: Int64, at time: Date) async throws {
        try await access { try $0.spendConfirmationTokens(subscriberID: subscriberID, at: time) }
    }
    func markConfirmed(subscriberID: Int64, at time: Date) async throws {
        try await access { try $0.markConfirmed(subscriberID: subscriberID, at: time) }
    }
    func setPreferences(_ preferences: Preferences, subscriberID: Int64) async throws {
        try await access { try $0.setPreferences(preferences, subscriberID: subscriberID) }
    }
    func confirmationsQueued(subscriberID: Int64, since time: Date) async throws -> SignupPolicy.RecentConfirmations {
        try await access { try $0.confirmationsQueued(subscriberID: subscriberID, since: time) }
    }
    func queueEndpointMail(_ kind: EndpointMail.Kind, subscriberID: Int64, at time: Date) async throws {
        try await access { try $0.queueEndpointMail(kind, subscriberID: subscriberID, at: time) }
    }
    func dueEndpointMails(limit: Int, at time: Date) async throws -> [EndpointMail] {
        try await access { try $0.dueEndpointMails(limit: limit, at: time) }
    }
    func leaseEndpointMails(ids: [Int64], until time: Date) async throws {
        try await access { try $0.leaseEndpointMails(ids: ids, until: time) }
    }
    func unleaseEndpointMails(ids: [Int64], dueAt time: Date) async throws {
        try await access { try $0.unleaseEndpointMails(ids: ids, dueAt: time) }
    }
    func updateEndpointMail(id: Int64, state: String?, sentAt: Date?, nextAttemptAt: Date?, reply: String) async throws
    {
        try await access {
            try $0.updateEndpointMail(id: id, state: state, sentAt: sentAt, nextAttemptAt: nextAttemptAt, reply: reply)
        }
    }
}

extension SQLiteRows: TopicRows {
    func deleteComparisonTopics(of comparisonID: Int64) async throws {
        try await access { try $0.deleteComparisonTopics(of: comparisonID) }
    }
    func insertTopic(_ name: String, at time: Date) async throws {
        try await access { try $0.insertTopic(name, at: time) }
    }
    func linkTopic(_ name: String, comparisonID: Int64) async throws {
        try await access { try $0.linkTopic(name, comparisonID: comparisonID) }
    }
    func subscriberTopics(subscriberID: Int64) async throws -> [String] {
        try await access { try $0.subscriberTopics(subscriberID: subscriberID) }
    }
    func deleteSubscriberTopics(subscriberID: Int64) async throws {
        try await access { try $0.deleteSubscriberTopics(subscriberID: subscriberID) }
    }
    func insertSubscriberTopic(_ topic: String, subscriberID: Int64) async throws {
        try await access { try $0.insertSubscriberTopic(topic, subscriberID: subscriberID) }
    }
}

extension SQLiteRows: ComparisonSaveRows {
    func storedPage(source: String) async throws -> StoredPage? {
        try await access { try $0.storedPage(source: source) }
    }
    func comparisonRecorded(as recordHash: String) async throws -> (id: Int64, source: String)? {
        try await access { try $0.comparisonRecorded(as: recordHash) }
    }
    func insertComparison(_ comparison: Comparison, at time: Date) async throws -> Int64 {
        try await access { try $0.insertComparison(comparison, at: time) }
    }
    func updateComparison(
        _ page: StoredPage, to comparison: Comparison, published: Date, publishedFrom: PublishedTimeSource,
        at time: Date
    ) async throws {
        try await access {
            try $0.updateComparison(page, to: comparison, published: published, publishedFrom: publishedFrom, at: time)
        }
    }
    func deleteChildren(_ child: ComparisonChild, of comparisonID: Int64) async throws {
        try await access { try $0.deleteChildren(child, of: comparisonID) }
    }
    func insertTool(_ tool: Tool, comparisonID: Int64, position: Int) async throws {
        try await access { try $0.insertTool(tool, comparisonID: comparisonID, position: position) }
    }
    func insertTake(_ take: Take, comparisonID: Int64, position: Int) async throws {
        try await access { try $0.insertTake(take, comparisonID: comparisonID, position: position) }
    }
    func insertMissingTake(_ slot: TakeSlot, comparisonID: Int64) async throws {
        try await access { try $0.insertMissingTake(slot, comparisonID: comparisonID) }
    }
}

extension SQLiteRows: IssueRows {
    func issueRow(_ week: IssueWeek) async throws -> IssueRecord? {
        try await access { try $0.issueRow(week) }
    }
    func featuredComparisonIDs(_ week: IssueWeek) async throws -> [Int64] {
        try await access { try $0.featuredComparisonIDs(week) }
    }
    func deliveryExists(_ week: IssueWeek, in states: [DeliveryState]) async throws -> Bool {
        try await access { try $0.deliveryExists(week, in: states) }
    }
    func upsertDraft(_ draft: IssueDraft, variants: String?, approval: IssueLifecycle.DraftApproval, at time: Date)
        async throws
    {
        try await access { try $0.upsertDraft(draft, variants: variants, approval: approval, at: time) }
    }
    func upsertSkipped(_ week: IssueWeek, reason: String, at time: Date) async throws {
        try await access { try $0.upsertSkipped(week, reason: reason, at: time) }
    }
    func deleteFeaturedComparisons(_ week: IssueWeek) async throws {
        try await access { try $0.deleteFeaturedComparisons(week) }
    }
    func insertFeaturedComparison(_ comparisonID: Int64, week: IssueWeek, position: Int) async throws {
        try await access { try $0.insertFeaturedComparison(comparisonID, week: week, position: position) }
    }
    func setApproved(_ week: IssueWeek, hash: String, at time: Date) async throws {
        try await access { try $0.setApproved(week, hash: hash, at: time) }
    }
    func setSent(_ week: IssueWeek, at time: Date) async throws {
        try await access { try $0.setSent(week, at: time) }
    }
}

extension SQLiteRows: BounceRows {
    func sentAt(of week: IssueWeek, subscriberID: Int64) async throws -> Date? {
        try await access { try $0.sentAt(of: week, subscriberID: subscriberID) }
    }
    func insertBounceEvent(_ bounce: BounceRecord, messageSentAt: Date) async throws -> Int64? {
        try await access { try $0.insertBounceEvent(bounce, messageSentAt: messageSentAt) }
    }
    func softBounceTimes(subscriberID: Int64) async throws -> [Date] {
        try await access { try $0.softBounceTimes(subscriberID: subscriberID) }
    }
    func lastGoodDelivery(subscriberID: Int64) async throws -> Date? {
        try await access { try $0.lastGoodDelivery(subscriberID: subscriberID) }
    }
    func setBounceEffect(_ effect: String, ofEvent eventID: Int64) async throws {
        try await access { try $0.setBounceEffect(effect, ofEvent: eventID) }
    }
    func countPermanentFailure(subscriberID: Int64) async throws {
        try await access { try $0.countPermanentFailure(subscriberID: subscriberID) }
    }
}
