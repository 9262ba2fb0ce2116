import Foundation

/// How a relay stood when a send last changed it: down (until when, after how many failures in a
/// row, and why) or back up.
public struct RelayHealthRecord: Sendable, Equatable, Codable {
    public var name: String
    /// When it may be tried again; nil: up.
    public var downUntil: Date?
    /// Failures in a row, 0 once it took a message again.
    public var failures: Int
    public var lastError: String?
    public var updatedAt: Date

    public init(name: String, downUntil: Date?, failures: Int, lastError: String?, updatedAt: Date) {
        self.name = name
        self.downUntil = downUntil
        self.failures = failures
        self.lastError = lastError
        self.updatedAt = updatedAt
    }

    public func isUp(at now: Date) -> Bool { downUntil.map { $0 <= now } ?? true }
}

/// How many of a week's messages one relay accepted.
public struct RelayShare: Sendable, Equatable, Codable {
    public var relay: String
    public var messages: Int

    public init(relay: String, messages: Int) {
        self.relay = relay
        self.messages = messages
    }
}

/// The relays' side of the ledger: which relay took each message (a column of the delivery row,
/// written with its outcome) and how each relay stands, for `status`, the issue report and
/// `/metrics`.
public protocol RelayStore: Sendable {
    /// Stores how `health.name` stands now (one row per relay, replaced).
    func recordRelayHealth(_ health: RelayHealthRecord) async throws
    /// Every relay a send has marked down or back up, by name.
    func relayHealth() async throws -> [RelayHealthRecord]
    /// The messages each relay accepted for `week` (all weeks when nil), busiest first; messages
    /// sent before relays were recorded are not counted.
    func messagesPerRelay(_ week: IssueWeek?) async throws -> [RelayShare]
}
