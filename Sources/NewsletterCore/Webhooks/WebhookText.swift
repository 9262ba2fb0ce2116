import Foundation

/// Endpoints and attempts as the CLI prints them.
public enum WebhookText {
    public static func line(_ endpoint: WebhookEndpoint, pending: Int) -> String {
        let state =
            endpoint.disabledAt.map { "DISABLED since \(WebhookEvent.timestamp($0)): \(endpoint.disabledReason ?? "")" }
            ?? endpoint.failingSince.map { "failing since \(WebhookEvent.timestamp($0))" } ?? "enabled"
        return
            "\(endpoint.id)  \(endpoint.url)  [\(endpoint.events.map(\.rawValue).joined(separator: ","))]  \(pending) pending  \(state)"
    }

    public static func line(_ attempt: WebhookAttempt) -> String {
        let status = attempt.status.map(String.init) ?? "---"
        let error = attempt.error.map { "  \($0)" } ?? ""
        return
            "\(WebhookEvent.timestamp(attempt.at))  endpoint \(attempt.endpointID)  \(attempt.eventType)  \(attempt.messageID) #\(attempt.attempt)  \(status)  \(attempt.durationMilliseconds) ms\(error)"
    }
}
