import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Sends the webhook outbox in the background of `serve`, as `EndpointMailQueue` sends its
/// mail: deliveries are claimed under a lease (on PostgreSQL with SKIP LOCKED, so several
/// server processes share the queue), sent by `senders` workers each on a thread of its own
/// (libcurl blocks; the cooperative pool never waits on a transfer), and each attempt is logged
/// and settled in one transaction. A 2xx ends a delivery; anything else is retried on the
/// policy's schedule. A crash mid-send means one more attempt after the lease, with the same
/// `webhook-id`: at least once.
public struct WebhookDispatcher: Service {
    public var store: any WebhookStore
    public var settings: WebhookSettings
    public var time: any TimeSource
    public var logger: Logger
    /// How often the outbox is looked at: events come from other processes too (`approve`,
    /// `bounces fetch`), so it is polled rather than signalled.
    public var pollInterval: Duration = .milliseconds(500)
    /// Deliveries one worker claims at once.
    public var batchSize = 25
    /// Longer than a batch's transfers can take (`timeout_seconds` each).
    var lease: TimeInterval { TimeInterval(batchSize * settings.timeoutSeconds + 60) }

    public init(store: any WebhookStore, settings: WebhookSettings, time: any TimeSource = SystemTime(), logger: Logger) {
        self.store = store
        self.settings = settings
        self.time = time
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await drain()
                do { try await Task.sleep(for: pollInterval) } catch { return }
            }
        }
    }

    /// Sends every delivery due now; returns how many were delivered (answered 2xx).
    @discardableResult
    public func drain() async -> Int {
        let delivered = Atomic(0)
        let this = self
        await ThreadExecutor.run(count: settings.senders) { _ in
            delivered.add(await this.drainBlocking(), ordering: .relaxed)
        }
        return delivered.load(ordering: .relaxed)
    }

    func drainBlocking() async -> Int {
        let sender = WebhookSender(policy: settings.targets, timeoutSeconds: settings.timeoutSeconds, time: time)
        var delivered = 0
        while !Task.isCancelled {
            let batch: [WebhookDelivery]
            do {
                batch = try await store.claimWebhookDeliveries(limit: batchSize, at: time.now(), lease: lease)
            } catch {
                // A stop (the server could not start, or a hard stop) cancels the read: nothing
                // was claimed, and it is not an error to report.
                if !Task.isCancelled {
                    logger.error("the webhook outbox could not be read", metadata: ["error": "\(error)"])
                }
                return delivered
            }
            if batch.isEmpty { return delivered }
            // Each URL checked once a batch, and the address checked is the one connected to.
            var targets: [String: Result<PinnedWebhookTarget, WebhookTargetRefusal>] = [:]
            var outcomes: [WebhookAttemptOutcome] = []
            for delivery in batch {
                let target = targets[delivery.url] ?? sender.pin(delivery.url)
                targets[delivery.url] = target
                let attempt = sender.send(
                    messageID: delivery.messageID, type: delivery.type, body: delivery.body, secret: delivery.secret,
                    endpointID: delivery.endpointID, attempt: delivery.attempt, to: target)
                if attempt.succeeded { delivered += 1 }
                log(attempt)
                outcomes.append(WebhookAttemptOutcome(deliveryID: delivery.id, attempt: attempt))
            }
            do {
                for endpoint in try await store.recordWebhookAttempts(outcomes, policy: settings.retries) {
                    // The structured line an operator's alerting reads; the editor page shows it too.
                    logger.error(
                        "webhook endpoint disabled",
                        metadata: [
                            "endpoint": "\(endpoint.endpointID)", "url": "\(endpoint.url)",
                            "reason": "\(endpoint.reason)",
                        ])
                }
            } catch {
                logger.error(
                    "the webhook attempts could not be recorded; they will be retried after their lease",
                    metadata: ["error": "\(error)"])
                return delivered
            }
        }
        return delivered
    }

    private func log(_ attempt: WebhookAttempt) {
        var metadata: Logger.Metadata = [
            "endpoint": "\(attempt.endpointID)", "webhook_id": "\(attempt.messageID)", "type": "\(attempt.eventType)",
            "attempt": "\(attempt.attempt)", "ms": "\(attempt.durationMilliseconds)",
        ]
        if let status = attempt.status { metadata["status"] = "\(status)" }
        if attempt.succeeded {
            logger.debug("webhook delivered", metadata: metadata)
        } else {
            metadata["error"] = "\(attempt.error ?? "")"
            logger.warning("webhook attempt failed", metadata: metadata)
        }
    }
}
