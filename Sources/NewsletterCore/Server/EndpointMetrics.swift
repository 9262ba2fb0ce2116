import Foundation
import Prometheus
import Synchronization

/// Counters for `GET /metrics`, in the Prometheus text format (swift-prometheus). Process-local:
/// they start at zero with each `serve`, as Prometheus counters may; the gauges are read from
/// the store at each scrape.
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

    /// One registry per server (not the process-wide `MetricsSystem`): a test process runs many.
    private let registry = PrometheusCollectorRegistry()
    private let events: [Event: Counter]
    /// The gauges read from the store at each scrape, so that one scrape's values are emitted
    /// together (two scrapes at once would otherwise interleave their sets).
    private let scrape = Mutex(())

    public init() {
        var events: [Event: Counter] = [:]
        for event in Event.allCases {
            events[event] = registry.makeCounter(name: event.rawValue, help: event.help)
        }
        self.events = events
    }

    public func count(_ event: Event) {
        events[event]?.increment()
    }

    /// `route` is the matched pattern (`/unsubscribe/:token`), never the path: tokens stay out.
    public func countRequest(route: String, status: Int) {
        registry.makeCounter(
            name: "newsletter_http_requests_total", labels: [("route", route), ("status", "\(status)")],
            help: "HTTP requests by route and status."
        ).increment()
    }

    /// An event's count, as a scrape reads it.
    public func value(_ event: Event) -> Int {
        let prefix = "\(event.rawValue) "
        let line = registry.emitToString().split(separator: "\n").first { $0.hasPrefix(prefix) }
        return line.flatMap { Int($0.dropFirst(prefix.count)) } ?? 0
    }

    /// The exposition text, with gauges the caller read from the store.
    public func render(
        queueDepth: Int, subscribers: [Subscriber.Status: Int], relays: [RelayHealthRecord] = [],
        relayMessages: [RelayShare] = [], now: Date = Date()
    ) -> String {
        scrape.withLock { _ in
            registry.makeGauge(
                name: "newsletter_endpoint_mail_queue_depth", help: "Confirmation and welcome mails waiting to be sent."
            ).set(Double(queueDepth))
            for status in Subscriber.Status.allCases {
                registry.makeGauge(
                    name: "newsletter_subscribers", labels: [("status", status.rawValue)], help: "Subscribers by status."
                ).set(Double(subscribers[status] ?? 0))
            }
            recordRelays(relays, messages: relayMessages, now: now)
            return registry.emitToString()
        }
    }

    /// Each relay a send has used or marked down: up or not, failures in a row, messages accepted.
    private func recordRelays(_ health: [RelayHealthRecord], messages: [RelayShare], now: Date) {
        var names = health.map(\.name)
        for share in messages where !names.contains(share.relay) { names.append(share.relay) }
        for name in names {
            let label = [("relay", name)]
            let stood = health.first { $0.name == name }
            registry.makeGauge(
                name: "newsletter_relay_up", labels: label,
                help: "Whether a relay is up (1) or marked down after failing (0)."
            ).set(stood?.isUp(at: now) ?? true ? 1.0 : 0.0)
            registry.makeGauge(
                name: "newsletter_relay_failures", labels: label,
                help: "A relay's failures in a row when it was last marked down."
            ).set(Double(stood?.failures ?? 0))
            // Stored totals, set rather than counted here: a counter of the list, not of this process.
            let sent = registry.makeCounter(
                name: "newsletter_relay_messages_total", labels: label, help: "Messages each relay accepted, all issues.")
            sent.reset()
            sent.increment(by: Int64(messages.first { $0.relay == name }?.messages ?? 0))
        }
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
