import Foundation

/// `[webhooks]`: where outbound webhooks may go, and how they are sent.
public struct WebhookSettings: Sendable, Equatable {
    /// `allow_private_targets` and `allowed_networks`: the SSRF guard's exceptions.
    public var targets = WebhookTargetPolicy()
    public var retries = WebhookRetryPolicy()
    /// `webhooks.timeout_seconds`: one attempt's whole transfer.
    public var timeoutSeconds = 10
    /// `webhooks.senders`: transfers at once, each on a thread of its own.
    public var senders = 4

    public init() {}
}

extension SettingsReader {
    static let webhookKeys = [
        "webhooks.allow_private_targets", "webhooks.allowed_networks", "webhooks.timeout_seconds", "webhooks.senders",
    ]

    mutating func webhooks() throws(ConfigurationError) -> WebhookSettings {
        var settings = WebhookSettings()
        settings.targets.allowPrivateTargets = try bool("webhooks.allow_private_targets") ?? false
        for text in try strings("webhooks.allowed_networks") ?? [] {
            guard let network = IPNetwork(text) else {
                throw invalid(
                    "webhooks.allowed_networks", "\"\(text)\" is not an address or a network like \"10.1.2.0/24\"")
            }
            settings.targets.allowedNetworks.append(network)
        }
        settings.timeoutSeconds = try integer("webhooks.timeout_seconds", in: 1...60) ?? settings.timeoutSeconds
        settings.senders = try integer("webhooks.senders", in: 1...32) ?? settings.senders
        return settings
    }
}
