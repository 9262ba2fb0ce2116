import Foundation

/// The row operations on subscribers that several workflows share (adding, importing, the
/// endpoint's flows, bounces), all inside one transaction the caller holds. Each store
/// implements them (GRDB's `Database`, the PostgreSQL session) and the workflows are written
/// once over them, as hummingbird-examples' `TodoController` over its repository. Each
/// operation is one statement, so the protocols can turn `async` later with only an `await`
/// added to the workflows.
protocol SubscriberRows {
    /// Inserts a subscriber and returns its id; nil, and nothing changed, when the address is
    /// already known in any case (two inserts of one address at once: one of them inserts).
    func insertSubscriber(
        email: String, name: String?, status: Subscriber.Status, confirmedAt: Date?, at time: Date
    ) async throws -> Int64?
    func subscriber(id: Int64) async throws -> Subscriber?
    /// The subscriber with this address in any case. `holdingRow` keeps the row locked to the
    /// end of the transaction (the SQLite store's write transaction holds the whole database).
    func subscriber(email: String, holdingRow: Bool) async throws -> Subscriber?
    /// Sets the subscriber's status when the current one is in `from`; true if it changed.
    func setStatus(of subscriberID: Int64, to status: Subscriber.Status, from: [Subscriber.Status]) async throws -> Bool
    /// One line of the consent trail.
    func recordConsent(
        subscriberID: Int64, event: String, client: ClientInfo, at time: Date, detail: String?) async throws
    /// Replaces the subscriber's topic choice and records the change (`event`) in the consent
    /// trail; the same choice again changes and records nothing. Several statements: the topic
    /// tables' own workflow, which each store keeps with its topics.
    func replaceTopicChoice(
        _ choice: TopicChoice, subscriberID: Int64, client: ClientInfo, at time: Date, event: String) async throws

    // The suppression list (Suppression.swift): keyed hashes of erased addresses.
    /// A secret the store made for itself (hex), by name; nil before it was made.
    func storedSecret(_ name: String) async throws -> String?
    /// Stores a secret unless one of that name exists (then nothing changes).
    func insertStoreSecret(_ name: String, hex: String, at time: Date) async throws
    func suppressionExists(_ hash: String) async throws -> Bool
    /// Adds a hash to the suppression list; one already there is left as it is.
    func insertSuppression(_ hash: String, at time: Date) async throws
    func deleteSuppression(_ hash: String) async throws
}

/// The address was neither inserted nor found: it was removed between the two statements
/// (`subscribers remove` at the same moment). Nothing was stored; trying again is safe.
struct SubscriberVanished: Error, CustomStringConvertible {
    var email: String
    var description: String { "\(email) was neither inserted nor found (removed meanwhile?): try again" }
}

extension SubscriberRows where Self: WebhookRows {
    /// The subscriber with this address, added with `status` if it is new; a known address is
    /// returned as it is. A new confirmed subscriber's `subscriber.confirmed` event is recorded,
    /// as a confirmation link's would be.
    func addSubscriber(_ address: MailAddress, name: String?, status: Subscriber.Status, at time: Date) async throws
        -> Subscriber
    {
        if let known = try await subscriber(email: address.address, holdingRow: false) { return known }
        if try await isSuppressed(address.address) { throw AddressSuppressed(email: address.address) }
        let id = try await insertSubscriber(
            email: address.address, name: name, status: status, confirmedAt: nil, at: time)
        if let id, status == .confirmed {
            try await recordSubscriberEvent(.subscriberConfirmed, subscriberID: id, at: time)
        }
        let found =
            if let id { try await subscriber(id: id) } else {
                try await subscriber(email: address.address, holdingRow: false)
            }
        guard let found else { throw SubscriberVanished(email: address.address) }
        return found
    }

    /// Adds a confirmed subscriber from an import, with a consent record naming where it came
    /// from and its `subscriber.confirmed` event; an address already known (in any case) is left
    /// exactly as it is (an import never undoes an unsubscribe). Returns whether the address was new; an erased address (on the
    /// suppression list) is refused with `AddressSuppressed`, and nothing is stored.
    func importSubscriber(email: String, name: String?, topics: TopicChoice?, source: String, at time: Date)
        async throws
        -> Bool
    {
        if try await subscriber(email: email, holdingRow: false) == nil, try await isSuppressed(email) {
            throw AddressSuppressed(email: email)
        }
        guard
            let subscriberID = try await insertSubscriber(
                email: email, name: name, status: .confirmed, confirmedAt: time, at: time)
        else { return false }
        try await recordConsent(
            subscriberID: subscriberID, event: "import", client: .commandLine, at: time, detail: source)
        try await recordSubscriberEvent(.subscriberConfirmed, subscriberID: subscriberID, at: time)
        if let topics {
            try await replaceTopicChoice(
                topics, subscriberID: subscriberID, client: .commandLine, at: time, event: "import-topics")
        }
        return true
    }
}
