import Crypto
import Foundation

/// `[bounces.providers.*]`: the sending providers whose webhooks `serve` takes, each turned on
/// by its own keys. Secrets come from the environment (better) or the file; none is logged or
/// shown by `config`.
public struct ProviderSettings: Sendable, Equatable {
    /// `bounces.providers.mailgun.signing_key` (`NEWSLETTER_MAILGUN_SIGNING_KEY`).
    public var mailgunSigningKey: String?
    /// `bounces.providers.sendgrid.public_key` (`NEWSLETTER_SENDGRID_PUBLIC_KEY`): base64 DER.
    public var sendgridPublicKey: String?
    /// `bounces.providers.postmark.username` and `.password` (`NEWSLETTER_POSTMARK_WEBHOOK_PASSWORD`).
    public var postmarkUsername: String?
    public var postmarkPassword: String?
    /// `bounces.providers.ses.*`; nil without `topic_arns`.
    public var ses: SESWebhook.Settings?

    public init() {}

    public static let mailgunKeyEnvironment = "NEWSLETTER_MAILGUN_SIGNING_KEY"
    public static let sendgridKeyEnvironment = "NEWSLETTER_SENDGRID_PUBLIC_KEY"
    public static let postmarkPasswordEnvironment = "NEWSLETTER_POSTMARK_WEBHOOK_PASSWORD"

    static let keys = [
        "bounces.providers.mailgun.signing_key", "bounces.providers.sendgrid.public_key",
        "bounces.providers.postmark.username", "bounces.providers.postmark.password",
        "bounces.providers.ses.topic_arns", "bounces.providers.ses.certificate_hosts",
        "bounces.providers.ses.ca_file",
    ]

    mutating func applySecrets(from environment: [String: String]) {
        func secret(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        mailgunSigningKey = secret(Self.mailgunKeyEnvironment) ?? mailgunSigningKey
        sendgridPublicKey = secret(Self.sendgridKeyEnvironment) ?? sendgridPublicKey
        postmarkPassword = secret(Self.postmarkPasswordEnvironment) ?? postmarkPassword
    }

    /// The providers turned on, each checked: a key that does not parse, or half of Postmark's
    /// credentials, is exit status 78 at start, naming the key.
    public func webhooks(time: any TimeSource) throws(InvalidSetting) -> [any ProviderWebhook] {
        var webhooks: [any ProviderWebhook] = []
        if let mailgunSigningKey { webhooks.append(MailgunWebhook(signingKey: mailgunSigningKey)) }
        if let sendgridPublicKey {
            guard let key = SendGridWebhook.publicKey(fromBase64: sendgridPublicKey) else {
                throw InvalidSetting(
                    key: "bounces.providers.sendgrid.public_key",
                    reason: ProviderSettingError("not a base64 DER P-256 public key (SendGrid's Signed Event Webhook key)"))
            }
            webhooks.append(SendGridWebhook(publicKey: key))
        }
        switch (postmarkUsername, postmarkPassword) {
        case (let username?, let password?): webhooks.append(PostmarkWebhook(username: username, password: password))
        case (nil, nil): break
        default:
            throw InvalidSetting(
                key: "bounces.providers.postmark",
                reason: ProviderSettingError(
                    "needs both username and password (\(Self.postmarkPasswordEnvironment)) for the webhook URL's basic auth"))
        }
        if let ses { webhooks.append(SESWebhook(settings: ses, time: time)) }
        return webhooks
    }

    /// The names of the providers turned on, for `config`.
    public var enabled: [String] {
        var names: [String] = []
        if mailgunSigningKey != nil { names.append("mailgun") }
        if sendgridPublicKey != nil { names.append("sendgrid") }
        if postmarkUsername != nil || postmarkPassword != nil { names.append("postmark") }
        if ses != nil { names.append("ses") }
        return names
    }
}

struct ProviderSettingError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension SettingsReader {
    mutating func providers() throws(ConfigurationError) -> ProviderSettings {
        var settings = ProviderSettings()
        settings.mailgunSigningKey = try string("bounces.providers.mailgun.signing_key", nonEmpty: true)
        if let key = try string("bounces.providers.sendgrid.public_key", nonEmpty: true) {
            guard SendGridWebhook.publicKey(fromBase64: key) != nil else {
                throw invalid("bounces.providers.sendgrid.public_key", "not a base64 DER P-256 public key")
            }
            settings.sendgridPublicKey = key
        }
        settings.postmarkUsername = try string("bounces.providers.postmark.username", nonEmpty: true)
        settings.postmarkPassword = try string("bounces.providers.postmark.password", nonEmpty: true)
        let topics = try strings("bounces.providers.ses.topic_arns")
        let hosts = try strings("bounces.providers.ses.certificate_hosts")
        let caFile = try path("bounces.providers.ses.ca_file")
        if let topics {
            guard !topics.isEmpty, topics.allSatisfy({ $0.hasPrefix("arn:") && $0.split(separator: ":").count >= 6 })
            else {
                throw invalid(
                    "bounces.providers.ses.topic_arns",
                    "must list the SNS topics' ARNs, like \"arn:aws:sns:eu-west-1:123456789012:ses-bounces\"")
            }
            var ses = SESWebhook.Settings(topicARNs: topics)
            ses.certificateHosts = hosts ?? []
            ses.caFile = caFile
            settings.ses = ses
        } else if hosts != nil || caFile != nil {
            throw invalid("bounces.providers.ses.topic_arns", "is needed to turn on the SES webhook")
        }
        return settings
    }
}
