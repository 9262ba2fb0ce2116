import Foundation

/// `[bounces]` (the mailbox `bounces fetch` reads) and the `mail.bounce_*` settings (VERP and
/// the soft-bounce window).
public struct BounceSettings: Sendable, Equatable {
    /// `mail.bounce_address`: the VERP base, `bounces@example.org`; nil keeps `mail.from` as
    /// the envelope sender.
    public var bounceAddress: String?
    /// `mail.bounce_window`: soft bounces older than this do not count.
    public var window: TimeInterval = 30 * 86400
    /// `bounces.max_message_bytes`: larger messages are refused, from the mailbox or a file.
    public var maxMessageBytes = 25 << 20
    /// `[bounces]`: the mailbox `bounces fetch` reads; nil when `bounces.mailbox_url` is not set.
    public var mailbox: MailboxClient.Settings?
    /// `bounces.webhook_token` (better `NEWSLETTER_BOUNCES_WEBHOOK_TOKEN`): turns on
    /// `POST /webhooks/bounces` in `serve`.
    public var webhookToken: String?
    /// `[bounces.providers.*]`: the sending providers' own webhooks.
    public var providers = ProviderSettings()

    public init() {}

    public static let passwordEnvironment = "NEWSLETTER_BOUNCES_PASSWORD"
    public static let webhookTokenEnvironment = "NEWSLETTER_BOUNCES_WEBHOOK_TOKEN"

    /// The VERP address, or nil.
    public var verp: VERPAddress? {
        bounceAddress.flatMap { try? MailAddress($0) }.map(VERPAddress.init(base:))
    }

    mutating func applySecrets(from environment: [String: String]) {
        if let password = environment[Self.passwordEnvironment], !password.isEmpty { mailbox?.password = password }
        if let token = environment[Self.webhookTokenEnvironment], !token.isEmpty { webhookToken = token }
        providers.applySecrets(from: environment)
    }

    static func isLoopback(_ host: String?) -> Bool {
        guard let host = host?.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]")) else {
            return false
        }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension SettingsReader {
    static let bounceKeys = [
        "mail.bounce_address", "mail.bounce_window", "bounces.mailbox_url", "bounces.username", "bounces.password",
        "bounces.allow_plaintext", "bounces.ca_file", "bounces.connect_timeout_seconds", "bounces.timeout_seconds",
        "bounces.max_message_bytes", "bounces.webhook_token",
    ] + ProviderSettings.keys

    mutating func bounces() throws(ConfigurationError) -> BounceSettings {
        var settings = BounceSettings()
        if let address = try string("mail.bounce_address", nonEmpty: true) {
            let parsed: MailAddress
            do { parsed = try MailAddress(address) } catch { throw invalid("mail.bounce_address", "\(error)") }
            let local = parsed.address.prefix { $0 != "@" }
            // bounces+<32 characters> must fit the 64 characters a local part may have.
            guard local.count <= 64 - 1 - VERPAddress.tokenLength, !local.contains("+") else {
                throw invalid(
                    "mail.bounce_address",
                    "the part before @ must be at most \(64 - 1 - VERPAddress.tokenLength) characters without \"+\" (the tool adds +<token>)"
                )
            }
            settings.bounceAddress = parsed.address
        }
        if let days = try integerOrNil("mail.bounce_window") {
            guard (1...365).contains(days) else {
                throw invalid("mail.bounce_window", "\(days) is out of range (1…365 days)")
            }
            settings.window = TimeInterval(days) * 86400
        } else if let text = try string("mail.bounce_window", nonEmpty: true) {
            guard let seconds = Self.duration(text), seconds >= 3600, seconds <= 365 * 86400 else {
                throw invalid(
                    "mail.bounce_window", "\"\(text)\" is not a duration like \"30d\" or \"72h\" (1 hour to 365 days)")
            }
            settings.window = seconds
        }
        let url = try string("bounces.mailbox_url", nonEmpty: true)
        if let url {
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                ["imap", "imaps", "pop3", "pop3s"].contains(scheme), parsed.host?.isEmpty == false
            else {
                throw invalid(
                    "bounces.mailbox_url", "\"\(url)\" is not an imap://, imaps://, pop3:// or pop3s:// URL with a host"
                )
            }
        }
        var mailbox = MailboxClient.Settings(
            url: url ?? "", username: try string("bounces.username", nonEmpty: true),
            password: try string("bounces.password"))
        mailbox.allowPlaintext = try bool("bounces.allow_plaintext") ?? false
        if mailbox.allowPlaintext, let url, !BounceSettings.isLoopback(URL(string: url)?.host) {
            throw invalid(
                "bounces.allow_plaintext",
                "only for a mailbox on loopback: the password would cross the network in clear text")
        }
        mailbox.caFile = try path("bounces.ca_file")
        mailbox.connectTimeoutSeconds =
            try integer("bounces.connect_timeout_seconds", in: 1...600) ?? mailbox.connectTimeoutSeconds
        mailbox.timeoutSeconds = try integer("bounces.timeout_seconds", in: 1...3600) ?? mailbox.timeoutSeconds
        mailbox.maxMessageBytes =
            try integer("bounces.max_message_bytes", in: 1024...(1 << 30)) ?? mailbox.maxMessageBytes
        settings.maxMessageBytes = mailbox.maxMessageBytes
        if url != nil { settings.mailbox = mailbox }
        settings.webhookToken = try string("bounces.webhook_token", nonEmpty: true)
        settings.providers = try providers()
        return settings
    }

    /// An integer value if the key holds one; a string is left for `string(_:)`.
    private mutating func integerOrNil(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = values[key], value.type == .int else { return nil }
        consumed.insert(key)
        return value.int
    }

    /// "30d", "72h".
    static func duration(_ text: String) -> TimeInterval? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = trimmed.last, let number = Int(trimmed.dropLast()), number > 0 else { return nil }
        switch unit {
        case "d": return TimeInterval(number) * 86400
        case "h": return TimeInterval(number) * 3600
        default: return nil
        }
    }
}
