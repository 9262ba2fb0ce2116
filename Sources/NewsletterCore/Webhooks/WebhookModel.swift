import Foundation

/// An endpoint events are sent to. It is enabled until it fails throughout the retry policy's
/// window (or answers 410 Gone); then it is disabled, its pending deliveries wait, and the
/// editor is told, until `webhooks enable`.
public struct WebhookEndpoint: Sendable, Equatable {
    public var id: Int64
    public var url: String
    public var events: [WebhookEventType]
    public var createdAt: Date
    /// When the current run of failed attempts began; nil after a success.
    public var failingSince: Date?
    public var disabledAt: Date?
    public var disabledReason: String?

    public var enabled: Bool { disabledAt == nil }

    func listens(to type: WebhookEventType) -> Bool { type == .test || events.contains(type) }
}

/// One event claimed for one endpoint, with what sending it takes.
public struct WebhookDelivery: Sendable, Equatable {
    public var id: Int64
    /// `webhook-id`: the same on every attempt, so a receiver drops a duplicate.
    public var messageID: String
    public var endpointID: Int64
    public var url: String
    public var secret: WebhookSecret
    public var type: WebhookEventType
    public var body: String
    /// This attempt's number, from 1.
    public var attempt: Int
}

/// One attempt, as logged (`webhooks log`, the editor's webhooks page).
public struct WebhookAttempt: Sendable, Equatable {
    public var endpointID: Int64
    public var messageID: String
    public var eventType: String
    public var attempt: Int
    public var at: Date
    /// The HTTP status, when an answer came.
    public var status: Int?
    public var durationMilliseconds: Int
    /// Why the attempt failed, when it did (no answer, a refused target, a non-2xx answer).
    public var error: String?
    /// Its place in the log, once read from it (pages of the log end at one); nil when just made.
    public var id: Int64? = nil

    public var succeeded: Bool { status.map { (200..<300).contains($0) } ?? false }
}

/// What became of a claimed delivery's attempt, for the store to record.
public struct WebhookAttemptOutcome: Sendable, Equatable {
    public var deliveryID: Int64
    public var attempt: WebhookAttempt
}

/// An endpoint the recording of attempts just disabled, for the log line.
public struct WebhookEndpointDisabled: Sendable, Equatable {
    public var endpointID: Int64
    public var url: String
    public var reason: String
}

/// When a failed delivery is tried again, and when an endpoint that keeps failing is disabled.
/// The delays are the Standard Webhooks schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h)
/// and one more day: nine attempts over about 52 hours, within three days.
public struct WebhookRetryPolicy: Sendable, Equatable {
    /// The wait after failed attempt n (1-based) is `delays[n - 1]`; after the last, none.
    public var delays: [TimeInterval] = [5, 300, 1800, 7200, 18000, 36000, 36000, 86400]
    /// An endpoint whose every attempt failed for this long is disabled.
    public var disableAfter: TimeInterval = 24 * 3600

    public init() {}

    public var maxAttempts: Int { delays.count + 1 }

    /// When to try again after failed attempt `attempt`; nil: given up.
    func nextAttempt(afterFailed attempt: Int, at time: Date) -> Date? {
        guard attempt >= 1, attempt <= delays.count else { return nil }
        return time.addingTimeInterval(delays[attempt - 1])
    }

    /// Whether a failed attempt at `time` disables its endpoint, and why.
    func disabling(failingSince: Date, status: Int?, at time: Date) -> String? {
        if status == 410 { return "it answered 410 Gone" }
        let hours = Int(disableAfter / 3600)
        if time.timeIntervalSince(failingSince) >= disableAfter {
            return "every attempt failed for \(hours) hours (since \(WebhookEvent.timestamp(failingSince)))"
        }
        return nil
    }
}
