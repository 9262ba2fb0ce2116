import Foundation

/// One signed POST (Standard Webhooks): `webhook-id`, `webhook-timestamp` and
/// `webhook-signature` over the JSON body, sent through the project's libcurl client to the
/// address the target policy checked. Blocking: call it from a thread of its own.
struct WebhookSender: Sendable {
    var policy: WebhookTargetPolicy
    var timeoutSeconds: Int
    var time: any TimeSource

    /// The URL checked (and resolved) now, as for every attempt: a name that pointed somewhere
    /// public when the endpoint was added may point at the host's network today.
    func pin(_ url: String) -> Result<PinnedWebhookTarget, WebhookTargetRefusal> {
        do throws(WebhookTargetRefusal) { return .success(try policy.check(url)) } catch { return .failure(error) }
    }

    /// Sends `body` as message `messageID` and says how it went; never throws: a failure is an
    /// attempt to log.
    func send(
        messageID: String, type: WebhookEventType, body: String, secret: WebhookSecret, endpointID: Int64,
        attempt: Int, to target: Result<PinnedWebhookTarget, WebhookTargetRefusal>
    ) -> WebhookAttempt {
        let started = time.uptime()
        let at = time.now()
        var result = WebhookAttempt(
            endpointID: endpointID, messageID: messageID, eventType: type.rawValue, attempt: attempt, at: at,
            status: nil, durationMilliseconds: 0, error: nil)
        let pinned: PinnedWebhookTarget
        switch target {
        case .success(let target): pinned = target
        case .failure(let refusal):
            result.error = "not sent: \(refusal)"
            return result
        }
        let timestamp = Int(at.timeIntervalSince1970)
        let request = CurlHTTPRequest(
            url: pinned.url.text, body: Data(body.utf8),
            headers: [
                "Content-Type: application/json", "webhook-id: \(messageID)", "webhook-timestamp: \(timestamp)",
                "webhook-signature: \(secret.signature(id: messageID, timestamp: timestamp, body: body))",
                // libcurl would wait a second for a 100-continue on larger bodies.
                "Expect:",
            ],
            timeoutSeconds: timeoutSeconds, connectTimeoutSeconds: min(timeoutSeconds, 5), maxResponseBytes: 64 << 10,
            userAgent: "newsletter-webhooks/1", connectTo: [pinned.connectTo])
        do {
            let response = try CurlHTTPClient.perform(request)
            result.status = response.status
            if !(200..<300).contains(response.status) {
                result.error = "answered \(response.status)"
            }
        } catch {
            result.error = "\(error)"
        }
        result.durationMilliseconds = Int(((time.uptime() - started).seconds * 1000).rounded())
        return result
    }
}
