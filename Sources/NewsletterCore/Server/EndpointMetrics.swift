import Foundation
import Synchronization

/// Counters for `GET /metrics`, in the Prometheus text format. Process-local: they start at zero
/// with each `serve`, as Prometheus counters may; the gauges are read from the store.
public final class EndpointMetrics: Sendable {
    public enum Event: String, Sendable, CaseIterable {
        case signup = "newsletter_signups_total"
        case signupThrottled = "newsletter_signups_throttled_total"
        case confirmation = "newsletter_confirmations_total"
        case unsubscribe = "newsletter_unsubscribes_total"
        case preferencesSaved = "newsletter_preferences_saved_total"
        case rateLimited = "newsletter_rate_limited_total"
        case honeypot = "newsletter_honeypot_total"
        case endpointMailSent = "newsletter_endpoint_mail_sent_total"
        case endpointMailFailed = "newsletter_endpoint_mail_failed_total"
        case providerEventRecorded = "newsletter_provider_events_recorded_total"
        case providerEventIgnored = "newsletter_provider_events_ignored_total"
        case providerRequestRefused = "newsletter_provider_requests_refused_total"

        var help: String {
            switch self {
            case .signup: "Signups that queued a confirmation mail."
            case .signupThrottled: "Signups answered without a new mail (already pending or confirmed)."
            case .confirmation: "Subscriptions confirmed."
            case .unsubscribe: "Subscribers who unsubscribed."
            case .preferencesSaved: "Preference changes saved."
            case .rateLimited: "Requests refused with 429."
            case .honeypot: "Signups dropped because the hidden field was filled."
            case .endpointMailSent: "Confirmation and welcome mails accepted by the mail server."
            case .endpointMailFailed: "Confirmation and welcome mails given up on."
            case .providerEventRecorded: "Provider webhook events recorded as bounces, complaints or deliveries."
            case .providerEventIgnored:
                "Provider webhook events ignored: about no copy we sent, or saying nothing about an address."
            case .providerRequestRefused: "Provider webhook requests refused: forged, stale, replayed or malformed."
            }
        }
    }

    private struct State {
        var events: [Event: Int] = [:]
        var requests: [RequestKey: Int] = [:]
    }

    struct RequestKey: Hashable {
        var route: String
        var status: Int
    }

    private let state = Mutex(State())

    public init() {}

    public func count(_ event: Event) {
        state.withLock { $0.events[event, default: 0] += 1 }
    }

    /// `route` is the matched pattern (`/unsubscribe/:token`), never the path: tokens stay out.
    public func countRequest(route: String, status: Int) {
        state.withLock { $0.requests[RequestKey(route: route, status: status), default: 0] += 1 }
    }

    public func value(_ event: Event) -> Int {
        state.withLock { $0.events[event] ?? 0 }
    }

    /// The exposition text, with gauges the caller read from the store.
    public func render(
        queueDepth: Int, subscribers: [Subscriber.Status: Int], relays: [RelayHealthRecord] = [],
        relayMessages: [RelayShare] = [], now: Date = Date()
    ) -> String {
        let snapshot = state.withLock { $0 }
        var out = "# HELP newsletter_http_requests_total HTTP requests by route and status.\n"
        out += "# TYPE newsletter_http_requests_total counter\n"
        for (key, value) in snapshot.requests.sorted(by: { ($0.key.route, $0.key.status) < ($1.key.route, $1.key.status) }) {
            out += "newsletter_http_requests_total{route=\"\(Self.escapeLabel(key.route))\",status=\"\(key.status)\"} \(value)\n"
        }
        for event in Event.allCases {
            out += "# HELP \(event.rawValue) \(event.help)\n# TYPE \(event.rawValue) counter\n"
            out += "\(event.rawValue) \(snapshot.events[event] ?? 0)\n"
        }
        out += "# HELP newsletter_endpoint_mail_queue_depth Confirmation and welcome mails waiting to be sent.\n"
        out += "# TYPE newsletter_endpoint_mail_queue_depth gauge\nnewsletter_endpoint_mail_queue_depth \(queueDepth)\n"
        out += "# HELP newsletter_subscribers Subscribers by status.\n# TYPE newsletter_subscribers gauge\n"
        for status in Subscriber.Status.allCases {
            out += "newsletter_subscribers{status=\"\(status.rawValue)\"} \(subscribers[status] ?? 0)\n"
        }
        out += Self.relayMetrics(relays, messages: relayMessages, now: now)
        return out
    }

    /// Each relay a send has used or marked down: up or not, failures in a row, messages accepted.
    static func relayMetrics(_ health: [RelayHealthRecord], messages: [RelayShare], now: Date) -> String {
        var names = health.map(\.name)
        for share in messages where !names.contains(share.relay) { names.append(share.relay) }
        guard !names.isEmpty else { return "" }
        var up = "# HELP newsletter_relay_up Whether a relay is up (1) or marked down after failing (0).\n"
        up += "# TYPE newsletter_relay_up gauge\n"
        var failures = "# HELP newsletter_relay_failures A relay's failures in a row when it was last marked down.\n"
        failures += "# TYPE newsletter_relay_failures gauge\n"
        var sent = "# HELP newsletter_relay_messages_total Messages each relay accepted, all issues.\n"
        sent += "# TYPE newsletter_relay_messages_total counter\n"
        for name in names.sorted() {
            let label = "{relay=\"\(escapeLabel(name))\"}"
            let stood = health.first { $0.name == name }
            up += "newsletter_relay_up\(label) \(stood?.isUp(at: now) ?? true ? 1 : 0)\n"
            failures += "newsletter_relay_failures\(label) \(stood?.failures ?? 0)\n"
            sent += "newsletter_relay_messages_total\(label) \(messages.first { $0.relay == name }?.messages ?? 0)\n"
        }
        return up + failures + sent
    }

    static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

/// Token buckets by key (a client address, say), so that one client cannot flood a route.
/// Memory is bounded: when the table grows past `maxKeys`, full buckets are forgotten.
public final class RateLimiter: Sendable {
    public let capacity: Double
    public let refillPerSecond: Double
    private let maxKeys: Int
    private let time: any TimeSource
    private let buckets = Mutex([String: TokenBucket]())

    /// `perMinute` requests a minute, in bursts of up to `burst`.
    public init(perMinute: Int, burst: Int? = nil, maxKeys: Int = 50_000, time: any TimeSource = SystemTime()) {
        capacity = Double(burst ?? perMinute)
        refillPerSecond = Double(perMinute) / 60
        self.maxKeys = maxKeys
        self.time = time
    }

    /// Buckets currently remembered (for tests of the memory bound).
    public var count: Int { buckets.withLock { $0.count } }

    /// nil when a request would be allowed now; otherwise the whole seconds until one would be.
    /// Takes nothing: for limits that count only failures (`check` after one).
    public func wait(_ key: String) -> Int? {
        let now = time.uptime()
        return buckets.withLock { table in
            guard let bucket = table[key], bucket.available(at: now) < 1 else { return nil }
            return max(1, Int(((1 - bucket.available(at: now)) / refillPerSecond).rounded(.up)))
        }
    }

    /// nil when allowed; otherwise the whole seconds until one request would be.
    public func check(_ key: String) -> Int? {
        let now = time.uptime()
        return buckets.withLock { table in
            var bucket =
                table[key] ?? TokenBucket(ratePerSecond: refillPerSecond, capacity: capacity, at: now)
            if table.count >= maxKeys && table[key] == nil {
                // Forget the buckets that have refilled (their clients are as good as new), then,
                // if a flood of fresh addresses left none refilled, the least recently used half.
                table = table.filter { $0.value.available(at: now) < capacity }
                if table.count >= maxKeys {
                    let keep = table.sorted { $0.value.updated > $1.value.updated }.prefix(maxKeys / 2)
                    table = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
            }
            let wait = bucket.take(at: now)
            table[key] = bucket
            return wait.map { max(1, Int($0.seconds.rounded(.up))) }
        }
    }
}
