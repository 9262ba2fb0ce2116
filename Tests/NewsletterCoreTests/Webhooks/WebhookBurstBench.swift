import Foundation
import Logging
import Testing

@testable import NewsletterCore

/// `make bench-webhooks`: a burst of events, each written in a transaction of its own as a
/// change would write it, delivered by the dispatcher to the verifying receiver. Prints how many
/// arrived and how long after its event each first arrived (median, p99); asserts only that
/// none was lost. Runs only when NEWSLETTER_BENCH_WEBHOOKS names the burst's size.
@Suite(
    .serialized,
    .enabled(if: ProcessInfo.processInfo.environment["NEWSLETTER_BENCH_WEBHOOKS"] != nil, "a benchmark"),
    .enabled(if: WebhookReceiver.available, "standardwebhooks is not installed"))
struct WebhookBurstBench {
    @Test func aBurstOfEventsIsDeliveredWithNoneLost() async throws {
        let count = Int(ProcessInfo.processInfo.environment["NEWSLETTER_BENCH_WEBHOOKS"] ?? "") ?? 10_000
        let store = try AppDatabase.open(
            path: try TestPaths.temporaryDirectory().appendingPathComponent("bench.sqlite").path)
        var settings = WebhookSettings()
        settings.targets.allowedNetworks = [IPNetwork("127.0.0.1/32")!]
        let port = try SMTPSink.freePort()
        let (endpoint, secret) = try await WebhookManagement(store: store, settings: settings).add(
            url: "http://127.0.0.1:\(port)/hooks", events: [.subscriberConfirmed])
        let receiver = try WebhookReceiver(secret: secret.text, port: port)
        let dispatcher = WebhookDispatcher(store: store, settings: settings, logger: Logger(label: "bench"))
        let sending = Task { try await dispatcher.run() }
        defer { sending.cancel() }

        let started = ContinuousClock.now
        for index in 0..<count {
            let time = Date()
            try await store.rowTransaction { rows in
                try await rows.recordWebhookEvent(
                    .subscriber(.subscriberConfirmed, id: Int64(index), email: "r\(index)@example.org", at: time),
                    at: time)
            }
        }
        let written = ContinuousClock.now - started
        let deadline = ContinuousClock.now + .seconds(600)
        while try await store.pendingWebhookDeliveries()[endpoint.id, default: 0] > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        let total = ContinuousClock.now - started
        let received = try receiver.received()
        var first: [String: Double] = [:]
        let parser = ISO8601DateFormatter()
        parser.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for line in received {
            guard let id = line.id, let stamp = line.timestamp, let event = parser.date(from: stamp),
                let at = line.received_at
            else { continue }
            let latency = at - event.timeIntervalSince1970
            first[id] = min(first[id] ?? latency, latency)
        }
        let latencies = first.values.sorted()
        func percentile(_ p: Double) -> Double { latencies.isEmpty ? .nan : latencies[Int(Double(latencies.count - 1) * p)] }
        print(
            "bench-webhooks: \(count) events written in \(written), all delivered in \(total); \(first.count) distinct arrived (\(received.count) requests), \(count - first.count) lost; first attempt after its event: median \(String(format: "%.2f", percentile(0.5))) s, p99 \(String(format: "%.2f", percentile(0.99))) s, max \(String(format: "%.2f", latencies.last ?? .nan)) s"
        )
        #expect(first.count == count)
        #expect(received.allSatisfy { $0.verified })
    }
}
