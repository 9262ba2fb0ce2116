import Foundation

/// Someone on the list.
public struct Subscriber: Sendable, Equatable, Codable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        /// Signed up, not yet confirmed (double opt-in): gets no issues.
        case pending
        case confirmed
        case unsubscribed
        /// Too many permanent delivery failures: gets no issues.
        case bounced
    }

    /// How issues reach this subscriber: multipart with HTML, or plain text only.
    public enum Format: String, Codable, Sendable, CaseIterable {
        case html
        case text
    }

    public var id: Int64
    public var email: String
    public var name: String?
    public var status: Status
    public var createdAt: Date
    public var permanentFailures: Int
    public var format: Format
    /// Still on the list, but sent nothing until unpaused.
    public var paused: Bool
    public var confirmedAt: Date?
}

/// The subscriber side of the store, as delivery needs it. Subscribers are read in pages by
/// id, so memory stays flat however long the list is.
public protocol SubscriberStore: Sendable {
    /// Adds (or, for an existing address, returns) a subscriber; the address is compared
    /// case-insensitively.
    func addSubscriber(email: String, name: String?, status: Subscriber.Status) async throws -> Subscriber
    func subscriber(email: String) async throws -> Subscriber?
    func subscriber(id: Int64) async throws -> Subscriber?
    func setStatus(_ status: Subscriber.Status, forSubscriber id: Int64) async throws
    /// Up to `limit` subscribers with ids above `afterID`, in id order.
    func subscribers(status: Subscriber.Status?, afterID: Int64, limit: Int) async throws -> [Subscriber]
    func subscriberCount(status: Subscriber.Status?) async throws -> Int
    /// Deletes a subscriber with everything recorded about them (tokens, consent trail, ledger
    /// rows: a request to be forgotten); the address is compared case-insensitively. Returns
    /// whether they existed.
    func removeSubscriber(email: String) async throws -> Bool
}
