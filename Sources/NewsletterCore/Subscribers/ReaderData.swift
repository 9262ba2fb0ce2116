import Foundation

/// Everything the list holds about one reader, as they download it from the preferences page
/// (or `newsletter subscribers export-one` prints it): their record, consent trail, deliveries,
/// bounces and per-reader clicks. Nothing about anyone else.
public struct ReaderData: Sendable, Codable, Equatable {
    public struct Record: Sendable, Codable, Equatable {
        public var email: String
        public var name: String?
        public var status: Subscriber.Status
        public var format: Subscriber.Format
        public var paused: Bool
        public var createdAt: Date
        public var confirmedAt: Date?
        public var permanentFailures: Int
        /// The topics chosen; nil: every topic (no choice made).
        public var topics: [String]?
    }

    /// One issue's copy: the delivery ledger's row.
    public struct Delivery: Sendable, Codable, Equatable {
        public var week: String
        public var state: String
        public var attempts: Int
        public var sentAt: Date?
        public var updatedAt: Date
        public var relay: String?
        public var lastReply: String?
    }

    /// One bounce or complaint report about their address.
    public struct Bounce: Sendable, Codable, Equatable {
        public var week: String?
        public var kind: String
        public var status: String?
        public var action: String?
        public var diagnostic: String?
        public var source: String
        public var receivedAt: Date
        public var effect: String
    }

    /// Their clicks on one link (`tracking.clicks = "per-reader"` only stores these).
    public struct Click: Sendable, Codable, Equatable {
        public var week: String
        public var target: String
        public var clicks: Int
        public var scannerClicks: Int
    }

    public var exportedAt: Date
    public var subscriber: Record
    public var consent: [ConsentRecord]
    public var deliveries: [Delivery]
    public var bounces: [Bounce]
    public var clicks: [Click]

    /// Pretty, with sorted keys and ISO 8601 times: meant to be read by the reader too.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }
}

extension AuditAction {
    /// A reader erased (from their preferences page, or `subscribers erase`).
    public static let subscriberErase = AuditAction("subscriber.erase")
}

/// What an erasure did.
public enum EraseOutcome: Sendable, Equatable {
    /// The reader's personal data is gone and the address's hash is on the suppression list.
    case erased(email: String)
    /// Not on the list, but its hash is on the suppression list: erased before.
    case alreadyErased
    /// Not on the list and never erased.
    case unknown
}

/// The address was erased at its owner's request: an import, `subscribers add` or an API call
/// may not bring it back. Only a new double opt-in (the signup form, then the confirmation
/// link) can.
public struct AddressSuppressed: Error, Equatable, CustomStringConvertible, Sendable {
    public var email: String
    public init(email: String) { self.email = email }
    public var description: String {
        "\(email) was erased at its owner's request (suppression list): only a new signup through the form, "
            + "confirmed by its owner, can add it again"
    }
}

/// The row operations a reader's own data needs, beside the subscriber rows, inside one
/// transaction the caller holds. Each store answers them in its own SQL; the export and the
/// erasure are written once over them (`ReaderDataRows` extension).
protocol ReaderDataRows: SubscriberRows, TopicRows, EditorAccountRows {
    func consentEvents(subscriberID: Int64) async throws -> [ConsentRecord]
    func deliveries(subscriberID: Int64) async throws -> [ReaderData.Delivery]
    func bounces(subscriberID: Int64) async throws -> [ReaderData.Bounce]
    func readerClicks(subscriberID: Int64) async throws -> [ReaderData.Click]
    /// Copies the subscriber's ledger rows into `erased_delivery` without who, Message-ID or
    /// reply (a copy not yet sent becomes `skipped`), so the issue reports keep their counts.
    func keepDeliveriesAnonymised(subscriberID: Int64) async throws
    /// Bounce reports about the subscriber stay, for the reports' rates, tied to nobody and
    /// without their diagnostic text (which may quote the address).
    func detachBounces(subscriberID: Int64) async throws
    /// Deletes the subscriber row; their tokens, consent trail, endpoint mail, topic choice,
    /// VERP tokens, ledger rows and per-reader clicks go with it (ON DELETE CASCADE).
    func deleteSubscriber(id: Int64) async throws
    /// The webhook outbox's events about the subscriber (their body names the address) go, with
    /// their deliveries not yet made; the attempts' log (no address) stays.
    func deleteWebhookEvents(subscriberID: Int64) async throws
    /// Audit entries about the address (`subject`) name it no more: `subject` becomes `replacement`.
    func renameAuditSubject(_ email: String, to replacement: String) async throws
}

extension ReaderDataRows {
    func readerData(_ subscriber: Subscriber, at time: Date) async throws -> ReaderData {
        let topics = try await subscriberTopics(subscriberID: subscriber.id)
        return ReaderData(
            exportedAt: time,
            subscriber: ReaderData.Record(
                email: subscriber.email, name: subscriber.name, status: subscriber.status, format: subscriber.format,
                paused: subscriber.paused, createdAt: subscriber.createdAt, confirmedAt: subscriber.confirmedAt,
                permanentFailures: subscriber.permanentFailures, topics: topics.isEmpty ? nil : topics.sorted()),
            consent: try await consentEvents(subscriberID: subscriber.id),
            deliveries: try await deliveries(subscriberID: subscriber.id),
            bounces: try await bounces(subscriberID: subscriber.id),
            clicks: try await readerClicks(subscriberID: subscriber.id))
    }

    /// Erases the subscriber, puts the keyed hash of their address on the suppression list and
    /// records it in the audit log by `actor` (`reader` from the page, `cli`), naming the
    /// subscriber by their former id only.
    func erase(_ subscriber: Subscriber, actor: String, at time: Date) async throws {
        let key = try await suppressionKey(makingAt: time)
        let formerly = "subscriber #\(subscriber.id)"
        try await keepDeliveriesAnonymised(subscriberID: subscriber.id)
        try await detachBounces(subscriberID: subscriber.id)
        try await deleteWebhookEvents(subscriberID: subscriber.id)
        try await deleteSubscriber(id: subscriber.id)
        try await renameAuditSubject(subscriber.email, to: formerly)
        try await insertSuppression(key.hash(subscriber.email), at: time)
        try await insertAuditEntry(
            AuditEntry(
                at: time, actor: actor, action: .subscriberErase, subject: formerly,
                detail: "personal data erased at the reader's request; the address's keyed hash is on the suppression list"
            ))
    }

    func erase(email: String, actor: String, at time: Date) async throws -> EraseOutcome {
        guard let subscriber = try await subscriber(email: email, holdingRow: true) else {
            return try await isSuppressed(email) ? .alreadyErased : .unknown
        }
        try await erase(subscriber, actor: actor, at: time)
        return .erased(email: subscriber.email)
    }
}

/// A reader's own data, as the preferences page and the CLI reach it.
public protocol ReaderDataStore: Sendable {
    /// What the list holds about the address; nil when it is not on the list.
    func readerData(email: String) async throws -> ReaderData?
    /// What the list holds about the owner of an unsubscribe (preferences) token.
    func readerData(unsubscribeToken: String) async throws -> ReaderData?
    /// Erases the address's personal data, in one transaction (see `ReaderDataRows.erase`);
    /// `actor` goes into the audit log (`cli`).
    func erase(email: String, actor: String) async throws -> EraseOutcome
    /// Erases the owner of an unsubscribe (preferences) token; `.unknown` for a token of nobody.
    func erase(unsubscribeToken: String) async throws -> EraseOutcome
    /// What an API client's signup does: `requestSignup`, except that an erased address (on the
    /// suppression list, not on the list) is refused with `AddressSuppressed`. Only the signup
    /// form, whose confirmation its owner gives, may bring an erased reader back.
    func requestSignupUnlessSuppressed(
        _ address: MailAddress, name: String?, topics: TopicChoice?, client: ClientInfo, policy: SignupPolicy,
        at time: Date
    ) async throws -> SignupOutcome
    /// The key of the preferences page's form tokens (`ReaderFormToken`), made on first use.
    func readerFormKey() async throws -> [UInt8]
}
