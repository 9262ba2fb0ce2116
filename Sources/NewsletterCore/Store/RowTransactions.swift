import Foundation

/// A store whose multi-step workflows, written once over the row protocols, run in its own
/// transactions. Each public method below is one workflow in one transaction, for both
/// stores; a store that needs more (PostgreSQL's typed refusals) defines its own, which wins.
protocol RowTransactions: Sendable {
    associatedtype Rows: EndpointRows & BounceRows & IssueRows & ComparisonSaveRows & TopicRows & ReportRows
        & ProviderEventRows & EditorAccountRows & ReaderDataRows & WebhookRows & APIKeyRows
    /// What the workflows stamp their rows with.
    var clock: any TimeSource { get }
    /// Runs `body` in one transaction: all of it or nothing.
    func rowTransaction<T: Sendable>(_ body: (Rows) async throws -> T) async throws -> T
    /// Runs a workflow that only reads, each of its statements on its own.
    func rowRead<T: Sendable>(_ body: (Rows) async throws -> T) async throws -> T
}

extension AppDatabase: RowTransactions {
    func rowTransaction<T: Sendable>(_ body: (SQLiteRows) async throws -> T) async throws -> T {
        try await transaction(body)
    }

    func rowRead<T: Sendable>(_ body: (SQLiteRows) async throws -> T) async throws -> T {
        try await readRows(body)
    }
}

extension PostgresStore: RowTransactions {
    func rowTransaction<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await transaction(body)
    }

    func rowRead<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await read(body)
    }
}

extension RowTransactions {
    public func recordBounce(_ bounce: BounceRecord, rule: BounceRule) async throws -> BounceRecordOutcome {
        try await rowTransaction { rows in try await rows.recordBounce(bounce, rule: rule) }
    }

    public func subscriber(unsubscribeToken token: String) async throws -> Subscriber? {
        try await rowRead { rows in try await rows.subscriber(unsubscribeToken: token) }
    }

    public func unsubscribe(token: String, client: ClientInfo, at time: Date) async throws -> UnsubscribeOutcome {
        try await rowTransaction { rows in try await rows.unsubscribe(token: token, client: client, at: time) }
    }

    public func requestSignup(
        _ address: MailAddress, name: String?, topics: TopicChoice?, client: ClientInfo, policy: SignupPolicy,
        at time: Date
    ) async throws -> SignupOutcome {
        try await rowTransaction { rows in
            try await rows.requestSignup(address, name: name, topics: topics, client: client, policy: policy, at: time)
        }
    }

    public func confirmationLink(token: String, at time: Date) async throws -> ConfirmationLink {
        try await rowRead { rows in try await rows.confirmationLink(token: token, at: time) }
    }

    public func confirm(token: String, client: ClientInfo, at time: Date) async throws -> ConfirmOutcome {
        try await rowTransaction { rows in try await rows.confirm(token: token, client: client, at: time) }
    }

    /// Unsubscribes a subscriber by id (the API); nil when there is no such subscriber.
    public func unsubscribe(subscriberID: Int64, client: ClientInfo, at time: Date) async throws -> UnsubscribeOutcome? {
        try await rowTransaction { rows in
            guard let subscriber = try await rows.subscriber(id: subscriberID) else { return nil }
            return try await rows.unsubscribe(subscriber, client: client, at: time)
        }
    }

    public func updatePreferences(token: String, _ preferences: Preferences, client: ClientInfo, at time: Date)
        async throws -> Subscriber?
    {
        try await rowTransaction { rows in
            try await rows.updatePreferences(token: token, preferences, client: client, at: time)
        }
    }

    public func claimEndpointMail(limit: Int, at time: Date, lease: TimeInterval) async throws -> [EndpointMail] {
        try await rowTransaction { rows in try await rows.claimEndpointMail(limit: limit, at: time, lease: lease) }
    }

    public func releaseEndpointMail(ids: [Int64], at time: Date) async throws {
        guard !ids.isEmpty else { return }
        try await rowTransaction { rows in try await rows.unleaseEndpointMails(ids: ids, dueAt: time) }
    }

    public func recordEndpointMail(id: Int64, _ result: EndpointMailResult, at time: Date) async throws {
        try await rowTransaction { rows in try await rows.recordEndpointMail(id: id, result, at: time) }
    }

    public func newConfirmationToken(subscriberID: Int64, lifetime: TimeInterval, at time: Date) async throws -> String
    {
        try await rowTransaction { rows in
            try await rows.newToken(
                subscriberID: subscriberID, purpose: .confirm, expiresAt: time.addingTimeInterval(lifetime), at: time)
        }
    }

    public func newUnsubscribeToken(subscriberID: Int64, at time: Date) async throws -> String {
        try await rowTransaction { rows in
            try await rows.newToken(subscriberID: subscriberID, purpose: .unsubscribe, expiresAt: nil, at: time)
        }
    }

    public func issue(_ week: IssueWeek) async throws -> IssueRecord? {
        try await rowRead { rows in try await rows.storedIssue(week) }
    }

    public func addSubscriber(email: String, name: String?, status: Subscriber.Status) async throws -> Subscriber {
        let address = try MailAddress(email.trimmingCharacters(in: .whitespaces))
        return try await refusingSuppressed { rows in
            try await rows.addSubscriber(address, name: name, status: status, at: clock.now())
        }
    }

    public func subscriber(email: String) async throws -> Subscriber? {
        try await rowRead { rows in try await rows.subscriber(email: email, holdingRow: false) }
    }

    public func subscriber(id: Int64) async throws -> Subscriber? {
        try await rowRead { rows in try await rows.subscriber(id: id) }
    }

    /// `SubscriberRows.importSubscriber` in one write transaction.
    public func importSubscriber(
        email: String, name: String?, topics: TopicChoice? = nil, source: String, at time: Date
    ) async throws -> Bool {
        try await refusingSuppressed { rows in
            try await rows.importSubscriber(email: email, name: name, topics: topics, source: source, at: time)
        }
    }

    public func topicChoice(subscriberID: Int64) async throws -> TopicChoice {
        try await rowRead { rows in try await rows.topicChoice(subscriberID: subscriberID) }
    }

    public func setTopicChoice(_ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date)
        async throws
    {
        try await rowTransaction { rows in
            try await rows.replaceTopicChoice(choice, subscriberID: subscriberID, client: client, at: time)
        }
    }

    public func saveDraft(_ draft: IssueDraft) async throws {
        try await rowTransaction { rows in try await rows.saveDraft(draft, at: clock.now()) }
    }

    public func recordSkipped(_ week: IssueWeek, reason: String) async throws {
        try await rowTransaction { rows in try await rows.recordSkipped(week, reason: reason, at: clock.now()) }
    }

    public func approve(_ week: IssueWeek, hash: String, at time: Date) async throws {
        try await rowTransaction { rows in try await rows.approve(week, hash: hash, at: time) }
    }

    public func saveComparison(_ comparison: Comparison) async throws -> SaveOutcome {
        try await rowTransaction { rows in try await rows.saveComparison(comparison, at: clock.now()) }
    }

    /// `body` in one transaction, an `AddressSuppressed` refusal thrown as itself (the
    /// PostgreSQL store wraps what a transaction throws in its own error). The refusal comes
    /// before anything is written, so the transaction it ends has nothing to keep.
    private func refusingSuppressed<T: Sendable>(_ body: (Rows) async throws -> T) async throws -> T {
        let result: Result<T, AddressSuppressed> = try await rowTransaction { rows in
            do {
                return .success(try await body(rows))
            } catch let refusal as AddressSuppressed {
                return .failure(refusal)
            }
        }
        return try result.get()
    }

    public func readerData(email: String) async throws -> ReaderData? {
        try await rowTransaction { rows in
            guard let subscriber = try await rows.subscriber(email: email, holdingRow: false) else { return nil }
            return try await rows.readerData(subscriber, at: clock.now())
        }
    }

    public func readerData(unsubscribeToken token: String) async throws -> ReaderData? {
        try await rowTransaction { rows in
            guard let subscriber = try await rows.subscriber(unsubscribeToken: token) else { return nil }
            return try await rows.readerData(subscriber, at: clock.now())
        }
    }

    public func erase(email: String, actor: String) async throws -> EraseOutcome {
        try await rowTransaction { rows in
            try await rows.erase(email: email.trimmingCharacters(in: .whitespaces), actor: actor, at: clock.now())
        }
    }

    public func erase(unsubscribeToken token: String) async throws -> EraseOutcome {
        try await rowTransaction { rows in
            guard let owner = try await rows.tokenOwner(token, purpose: .unsubscribe, holdingRow: true) else {
                return .unknown
            }
            try await rows.erase(owner.subscriber, actor: "reader", at: clock.now())
            return .erased(email: owner.subscriber.email)
        }
    }

    public func requestSignupUnlessSuppressed(
        _ address: MailAddress, name: String?, topics: TopicChoice?, client: ClientInfo, policy: SignupPolicy,
        at time: Date
    ) async throws -> SignupOutcome {
        try await refusingSuppressed { rows in
            if try await rows.subscriber(email: address.address, holdingRow: false) == nil,
                try await rows.isSuppressed(address.address)
            {
                throw AddressSuppressed(email: address.address)
            }
            return try await rows.requestSignup(
                address, name: name, topics: topics, client: client, policy: policy, at: time)
        }
    }

    public func readerFormKey() async throws -> [UInt8] {
        try await rowTransaction { rows in try await rows.storeSecret(ReaderFormToken.secretName, makingAt: clock.now()) }
    }
}
