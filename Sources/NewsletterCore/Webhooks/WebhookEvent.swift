import Foundation

/// What an endpoint can be told of. Each is written to the outbox in the transaction of the
/// change it tells of, so a change is never told without having happened, nor lost once it has.
public enum WebhookEventType: String, CaseIterable, Sendable, Codable {
    case subscriberConfirmed = "subscriber.confirmed"
    case subscriberUnsubscribed = "subscriber.unsubscribed"
    case subscriberBounced = "subscriber.bounced"
    case subscriberComplained = "subscriber.complained"
    case issueApproved = "issue.approved"
    case issueSent = "issue.sent"
    /// `newsletter webhooks test`: sent to one endpoint on request, never subscribed to.
    case test = "webhook.test"

    /// The events an endpoint may ask for.
    public static let subscribable = allCases.filter { $0 != .test }

    /// `--events subscriber.confirmed,issue.sent`, or `all`.
    public static func parseList(_ text: String) throws(WebhookEventListError) -> [WebhookEventType] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if names == ["all"] || names == ["*"] { return subscribable }
        guard !names.isEmpty else { throw WebhookEventListError(name: text) }
        var types: [WebhookEventType] = []
        for name in names {
            guard let type = WebhookEventType(rawValue: name), type != .test else {
                throw WebhookEventListError(name: name)
            }
            if !types.contains(type) { types.append(type) }
        }
        return types
    }

    /// How an endpoint's list is stored: the names, comma-separated.
    static func stored(_ types: [WebhookEventType]) -> String { types.map(\.rawValue).joined(separator: ",") }

    static func parseStored(_ text: String) -> [WebhookEventType] {
        text.split(separator: ",").compactMap { WebhookEventType(rawValue: String($0)) }
    }
}

/// An event name that is not one of ours.
public struct WebhookEventListError: Error, CustomStringConvertible, Sendable {
    public var name: String
    public var description: String {
        "\"\(name)\" is not an event: name one or more of \(WebhookEventType.subscribable.map(\.rawValue).joined(separator: ", ")), comma-separated, or \"all\""
    }
}

/// One event as it goes into the outbox: its type and the JSON body every endpoint is sent,
/// `{"type", "timestamp", "data"}` (Standard Webhooks' payload shape).
public struct WebhookEvent: Sendable, Equatable {
    public var type: WebhookEventType
    public var body: String

    init(type: WebhookEventType, at time: Date, data: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = WebhookPayload(type: type.rawValue, timestamp: Self.timestamp(time), data: data)
        // Strings, numbers and optionals only: encoding cannot fail.
        body = String(decoding: (try? encoder.encode(payload)) ?? Data("{}".utf8), as: UTF8.self)
        self.type = type
    }

    /// ISO 8601 in UTC with milliseconds, as the spec's examples.
    static func timestamp(_ time: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: time)
    }

    struct SubscriberData: Encodable {
        var id: Int64
        var email: String
        var reason: String?
    }

    struct IssueData: Encodable {
        var week: String
        var hash: String?
    }

    static func subscriber(
        _ type: WebhookEventType, id: Int64, email: String, reason: String? = nil, at time: Date
    ) -> WebhookEvent {
        WebhookEvent(type: type, at: time, data: SubscriberData(id: id, email: email, reason: reason))
    }

    static func issue(_ type: WebhookEventType, week: IssueWeek, hash: String? = nil, at time: Date) -> WebhookEvent {
        WebhookEvent(type: type, at: time, data: IssueData(week: week.description, hash: hash))
    }

    /// `webhooks test`'s event: it says what it is, and which endpoint asked.
    public static func test(endpointID: Int64, at time: Date) -> WebhookEvent {
        struct TestData: Encodable {
            var endpoint: Int64
            var message: String
        }
        return WebhookEvent(
            type: .test, at: time,
            data: TestData(endpoint: endpointID, message: "a test event from `newsletter webhooks test`"))
    }
}

/// The body's shape, `{"type", "timestamp", "data"}`.
private struct WebhookPayload<Content: Encodable>: Encodable {
    var type: String
    var timestamp: String
    var data: Content
}
