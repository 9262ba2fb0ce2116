import Foundation

/// One relay in `status`: whether it is up (as the last send that changed it left it), and its
/// share of the week's messages.
public struct RelayStatus: Encodable, Sendable, Equatable {
    public var name: String
    public var up: Bool
    public var downUntil: Date?
    /// Failures in a row when it was last marked down (0: none since it last took a message).
    public var failures: Int
    public var lastError: String?
    public var messages: Int
    /// Its part of the week's messages that have a relay recorded, 0…1.
    public var share: Double

    /// The configured relays first, in order, then any other the store knows of (a relay since
    /// removed from the configuration); none when no relay sent or failed and none is configured.
    static func of(_ week: IssueWeek, configured: [String], store: some RelayStore, now: Date) async throws
        -> [RelayStatus]
    {
        let health = try await store.relayHealth()
        let shares = try await store.messagesPerRelay(week)
        let total = shares.reduce(0) { $0 + $1.messages }
        var names = configured
        for name in health.map(\.name) + shares.map(\.relay) where !names.contains(name) { names.append(name) }
        return names.map { name in
            let stood = health.first { $0.name == name }
            let messages = shares.first { $0.relay == name }?.messages ?? 0
            return RelayStatus(
                name: name, up: stood?.isUp(at: now) ?? true, downUntil: stood?.isUp(at: now) == false ? stood?.downUntil : nil,
                failures: stood?.failures ?? 0, lastError: stood?.lastError, messages: messages,
                share: total > 0 ? Double(messages) / Double(total) : 0)
        }
    }

    /// `ses: up; 300 messages (75.0 %)`, or down until when, and why.
    var line: String {
        var state = up ? "up" : "down until \(downUntil.map { $0.formatted(.iso8601) } ?? "?")"
        if failures > 0 { state += ", \(failures) failure(s) in a row" }
        if let lastError, !up || failures > 0 { state += " (last: \(lastError))" }
        return "\(name): \(state); \(messages) messages (\(String(format: "%.1f", share * 100)) %)"
    }
}
