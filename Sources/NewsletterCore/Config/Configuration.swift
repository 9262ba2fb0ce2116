import Foundation
import Logging
import TOMLKit

/// Everything the tool can be told, with a default for each setting so that no file at all
/// means the embedded defaults: SQLite under `subscribers/`, the file transport, UTC.
///
/// Read from one TOML file (`newsletter.toml` in the working directory unless `--config` names
/// another) and, for secrets, from the environment, which wins over the file. Relative paths
/// are relative to the file's directory (the working directory when there is no file).
public struct Configuration: Sendable, Equatable {
    /// Weeks are counted in this zone.
    public var timeZone: TimeZone {
        get { issue.timeZone }
        set { issue.timeZone = newValue }
    }
    public var dataDirectory: String = "subscribers"
    public var outboxDirectory: String = "outbox"
    public var templatesDirectory: String = "templates"
    /// Defaults to `<data_dir>/newsletter.sqlite`.
    public var databasePath: String = "subscribers/newsletter.sqlite"
    /// `store.url`: a PostgreSQL database instead of the SQLite file (StoreLocation.swift).
    public var storeURL: PostgresLocation?
    public var ingest = Ingest()
    public var smtp = SMTP()
    public var mail = Mail()
    public var editor = Editor()
    public var server = Server()
    /// Double opt-in: how long confirmation links work and how often one address gets one.
    public var signup = SignupPolicy()
    /// List-wide settings and selection policy for issues.
    public var issue = IssueSettings()
    /// Which week `preview` (and the weekly run) covers when none is named.
    public var defaultWeek: DefaultWeek = .previous
    /// `[run]`: what the weekly `newsletter run` may do on its own.
    public var run = RunSettings()
    public var logLevel: Logger.Level = .info
    /// `[summaries]`: the model provider chain (SummarySettings.swift).
    public var summaries = SummarySettings()
    /// `[dkim]`: the signing keys (paths only; the keys are loaded by `load`).
    public var dkim = DKIM()
    /// `[bounces]` and `mail.bounce_*` (BounceSettings.swift).
    public var bounces = BounceSettings()
    /// `[webhooks]` (WebhookSettings.swift).
    public var webhooks = WebhookSettings()
    /// `NEWSLETTER_CLICK_KEY`: signs readers' click tokens under `tracking.clicks = "per-reader"`.
    public var clickReaderKey: ClickReaderKey?

    /// What `send` sends with, from `[mail]`, `[list]` and `[server]`.
    public func deliverySettings() throws(MailError) -> DeliverySettings {
        let from = try MailAddress(mail.from, displayName: mail.fromName ?? issue.listName)
        let domain = from.address.split(separator: "@").last.map(String.init) ?? "localhost"
        var settings = DeliverySettings(
            from: from, listID: mail.listID ?? "newsletter.\(domain)", publicURL: issue.publicURL)
        settings.unsubscribeMailto = mail.unsubscribeMailto
        settings.feedbackID = mail.feedbackID
        settings.concurrency = mail.concurrency
        settings.messagesPerSecond = mail.messagesPerSecond > 0 ? mail.messagesPerSecond : nil
        settings.messagesPerHour = mail.messagesPerHour > 0 ? mail.messagesPerHour : nil
        settings.listLimit = mail.listMessagesPerSecond > 0 ? ListSendLimit(perSecond: mail.listMessagesPerSecond) : nil
        settings.retries = mail.retries
        settings.bounceAfter = mail.bounceAfter
        settings.topics = issue.topics
        settings.bounceWindow = bounces.window
        settings.verp = bounces.verp
        settings.clickReaderKey = issue.clicks == .perReader ? clickReaderKey : nil
        return settings
    }

    /// The relays `send` goes through: `[[smtp.relays]]`, or `smtp.url` as one, else one that
    /// writes `.eml` files in the outbox.
    public func relays(for week: IssueWeek) -> [Relay] {
        relays(fileDirectory: (outboxDirectory as NSString).appendingPathComponent("\(week)/messages"))
    }

    /// The transport of a test copy: the first relay of the best priority.
    public func transport(for week: IssueWeek) -> any MailTransport { Self.first(relays(for: week)).transport }

    /// The transport for the mail `serve` sends (confirmations, welcomes): the first relay of
    /// the best priority; with the file transport they go to `outbox/endpoint-mail/`.
    public func endpointTransport() -> any MailTransport {
        Self.first(relays(fileDirectory: (outboxDirectory as NSString).appendingPathComponent("endpoint-mail")))
            .transport
    }

    private static func first(_ relays: [Relay]) -> Relay {
        relays.min { $0.priority < $1.priority }!
    }

    private func relays(fileDirectory: String) -> [Relay] {
        let configured = smtp.relays(concurrency: mail.concurrency)
        guard !configured.isEmpty else {
            return [Relay(name: "file", transport: signed(FileTransport(directory: fileDirectory)), connections: mail.concurrency)]
        }
        return configured.map { relay in
            Relay(
                name: relay.name, transport: signed(SMTPTransport(settings: relay.transportSettings(timeouts: smtp))),
                priority: relay.priority, weight: relay.weight,
                messagesPerSecond: relay.messagesPerSecond > 0 ? relay.messagesPerSecond : nil,
                messagesPerConnection: relay.messagesPerConnection > 0 ? relay.messagesPerConnection : nil,
                connections: relay.connections)
        }
    }

    private func signed(_ unsigned: some MailTransport) -> any MailTransport {
        guard let signer = dkim.signer else { return unsigned }
        return DKIMSigningTransport(inner: unsigned, signer: signer)
    }
    /// The file the settings came from, or nil for the built-in defaults.
    public var file: String?

    public struct Ingest: Sendable, Equatable {
        /// What `ingest` reads when given no SOURCE (and what the weekly run reads).
        public var sources: [String] = []
        public var maxPageBytes: Int = 5 << 20
        public var timeoutSeconds: Int = 30
        public var connectTimeoutSeconds: Int = 10
        public var userAgent: String = "newsletter/0.1 (self-hosted weekly digest)"
    }

    public struct SMTP: Sendable, Equatable {
        /// `smtp://host:port` or `smtps://host:port`; nil means the file transport.
        public var url: String?
        public var username: String?
        public var password: String?
        /// `smtp://` without STARTTLS, for a relay on loopback only.
        public var allowPlaintext = false
        public var connectTimeoutSeconds = 10
        public var commandTimeoutSeconds = 30
        public var messageTimeoutSeconds = 120
        public var caFile: String?
        /// `[[smtp.relays]]` (RelaySettings.swift); empty when `smtp.url` is the one relay.
        public var relays: [RelaySettings] = []
    }

    /// How issues are sent.
    public struct Mail: Sendable, Equatable {
        public var from = "newsletter@example.com"
        /// Defaults to `list.name`.
        public var fromName: String?
        /// Defaults to `newsletter.<from domain>`.
        public var listID: String?
        public var unsubscribeMailto: String?
        public var feedbackID: String?
        public var concurrency = 4
        /// 0: no limit.
        public var messagesPerSecond = 0.0
        public var messagesPerHour = 0.0
        /// The whole list's pace across every sender (`mail.list_messages_per_second`); 0 is none.
        public var listMessagesPerSecond = 0.0
        public var retries = 3
        public var bounceAfter = 3
    }

    /// `newsletter serve`'s limits, from `[server]`.
    public struct Server: Sendable, Equatable {
        /// Behind a reverse proxy on the same host: take the client's address from the last
        /// `X-Forwarded-For` entry (which the proxy wrote), for rate limits and consent records.
        public var trustForwardedFor = false
        /// Form posts (signup, confirm, unsubscribe, preferences) per client address per minute.
        public var postsPerMinutePerClient = 20
        public var maxBodyBytes = 16 * 1024
        /// `tracking.flush_seconds`: how often counted clicks are written to the store; a
        /// `kill -9` loses at most this long's clicks (a clean stop writes them all).
        public var clickFlushSeconds = 5
        /// `/api/v1` requests per API key per minute (`api.requests_per_minute`), in bursts of
        /// up to `apiBurst` (`api.burst`).
        public var apiRequestsPerMinute = 600
        public var apiBurst = 60
        /// The largest `/api/v1` request body (`api.max_body_bytes`): an import of a few thousand rows.
        public var apiMaxBodyBytes = 1 << 20

        public init() {}
    }

    public struct Editor: Sendable, Equatable {
        /// Bearer token for the editor routes; nil turns them off (unless editor users exist).
        /// Refused once an owner exists (`newsletter users add … --role owner`).
        public var token: String?
        /// `editor.bcrypt_cost`: bcrypt's work factor for editor passwords (log2 rounds, 4 to 31).
        public var bcryptCost = 12
        /// `editor.session_hours`: how long a login lasts.
        public var sessionHours = 12
        /// `editor.invitation_hours`: how long a `users add --invite` link can be used.
        public var invitationHours = 72
    }

    public enum DefaultWeek: String, Sendable, Equatable, CaseIterable {
        /// The week that just ended: what a Monday-morning cron job sends.
        case previous
        case current

        public func week(at date: Date, in timeZone: TimeZone) -> IssueWeek {
            let now = IssueWeek.containing(date, in: timeZone)
            return self == .previous ? now.previous : now
        }
    }

    public init() {}

    /// The environment variables that override the file, for secrets.
    public enum Environment {
        public static let smtpPassword = "NEWSLETTER_SMTP_PASSWORD"
        public static let editorToken = "NEWSLETTER_EDITOR_TOKEN"
        /// The path of the RSA DKIM key file (never the key itself), instead of `dkim.private_key`.
        public static let dkimKeyFile = "NEWSLETTER_DKIM_KEY_FILE"
        /// The secret that signs readers' click tokens (`tracking.clicks = "per-reader"`).
        public static let clickKey = "NEWSLETTER_CLICK_KEY"
    }

    public static let defaultFileName = "newsletter.toml"

    /// Loads `path`, or `newsletter.toml` in `workingDirectory` when it exists, or the defaults.
    /// A `path` that was named explicitly must exist. The DKIM keys are read and checked unless
    /// `loadingKeys` is false (`dkim keygen`, which writes them).
    public static func load(
        path: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        workingDirectory: String = FileManager.default.currentDirectoryPath, loadingKeys: Bool = true
    ) throws(ConfigurationError) -> Configuration {
        let explicit = path != nil
        let file = path ?? (workingDirectory as NSString).appendingPathComponent(defaultFileName)
        var configuration: Configuration
        if FileManager.default.fileExists(atPath: file) {
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw .unreadable(file: file, reason: "\(error.localizedDescription)")
            }
            configuration = try parse(text, file: file)
            configuration.file = file
        } else if explicit {
            throw .unreadable(file: file, reason: "no such file")
        } else {
            configuration = Configuration()
        }
        configuration.applySecrets(from: environment, workingDirectory: workingDirectory)
        try configuration.readClickKey(from: environment)
        try configuration.smtp.applyRelaySecrets(from: environment, file: configuration.file ?? "environment")
        try configuration.applyStoreEnvironment(environment)
        let base = configuration.file.map { ($0 as NSString).deletingLastPathComponent } ?? workingDirectory
        configuration.resolvePaths(against: base.isEmpty ? workingDirectory : base)
        try configuration.dkim.check(file: configuration.file ?? "environment", loadingKeys: loadingKeys)
        return configuration
    }

    /// Parses a TOML document; every key is checked against the known ones, so a typo is an
    /// error rather than a silently ignored setting.
    public static func parse(_ text: String, file: String = defaultFileName) throws(ConfigurationError) -> Configuration
    {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw .syntax(file: file, line: error.source.begin.line, message: error.description)
        } catch {
            throw .syntax(file: file, line: nil, message: "\(error)")
        }
        var reader = SettingsReader(file: file, values: SettingsReader.flatten(table))
        var configuration = Configuration()
        try configuration.read(from: &reader)
        try reader.rejectUnknownKeys()
        return configuration
    }

    private mutating func read(from reader: inout SettingsReader) throws(ConfigurationError) {
        if let zone = try reader.string("time_zone") {
            guard let timeZone = TimeZone(identifier: zone) else {
                throw reader.invalid("time_zone", "\"\(zone)\" is not a known IANA time zone (e.g. \"Europe/Berlin\")")
            }
            self.timeZone = timeZone
        }
        dataDirectory = try reader.path("data_dir") ?? dataDirectory
        outboxDirectory = try reader.path("outbox_dir") ?? outboxDirectory
        templatesDirectory = try reader.path("templates_dir") ?? templatesDirectory
        databasePath =
            try reader.path("store.path") ?? (dataDirectory as NSString).appendingPathComponent("newsletter.sqlite")
        storeURL = try reader.storeURL()

        ingest.sources = try reader.strings("ingest.sources") ?? ingest.sources
        ingest.maxPageBytes = try reader.integer("ingest.max_page_bytes", in: 1024...(1 << 30)) ?? ingest.maxPageBytes
        ingest.timeoutSeconds = try reader.integer("ingest.timeout_seconds", in: 1...3600) ?? ingest.timeoutSeconds
        ingest.connectTimeoutSeconds =
            try reader.integer("ingest.connect_timeout_seconds", in: 1...600) ?? ingest.connectTimeoutSeconds
        ingest.userAgent = try reader.string("ingest.user_agent", nonEmpty: true) ?? ingest.userAgent

        if let url = try reader.string("smtp.url"), !url.isEmpty {
            guard let scheme = URL(string: url)?.scheme?.lowercased(), ["smtp", "smtps"].contains(scheme),
                URL(string: url)?.host?.isEmpty == false
            else {
                throw reader.invalid("smtp.url", "it is not an smtp:// or smtps:// URL with a host")
            }
            smtp.url = url
        }
        smtp.allowPlaintext = try reader.bool("smtp.allow_plaintext") ?? smtp.allowPlaintext
        smtp.caFile = try reader.path("smtp.ca_file")
        smtp.connectTimeoutSeconds =
            try reader.integer("smtp.connect_timeout_seconds", in: 1...600) ?? smtp.connectTimeoutSeconds
        smtp.commandTimeoutSeconds =
            try reader.integer("smtp.command_timeout_seconds", in: 1...600) ?? smtp.commandTimeoutSeconds
        smtp.messageTimeoutSeconds =
            try reader.integer("smtp.message_timeout_seconds", in: 1...3600) ?? smtp.messageTimeoutSeconds
        smtp.relays = try reader.relays(smtpURL: smtp.url)
        if let from = try reader.string("mail.from", nonEmpty: true) {
            do { _ = try MailAddress(from) } catch { throw reader.invalid("mail.from", "\(error)") }
            mail.from = from
        }
        mail.fromName = try reader.string("mail.from_name", nonEmpty: true)
        mail.listID = try reader.string("mail.list_id", nonEmpty: true)
        mail.unsubscribeMailto = try reader.string("mail.unsubscribe_mailto", nonEmpty: true)
        if let mailto = mail.unsubscribeMailto, !mailto.hasPrefix("mailto:") {
            throw reader.invalid("mail.unsubscribe_mailto", "must start with mailto:")
        }
        mail.feedbackID = try reader.string("mail.feedback_id", nonEmpty: true)
        for (key, value) in [
            ("mail.from_name", mail.fromName), ("mail.list_id", mail.listID), ("mail.feedback_id", mail.feedbackID),
        ] {
            if let value, value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
                throw reader.invalid(key, "must not contain CR, LF or NUL")
            }
        }
        mail.concurrency = try reader.integer("mail.concurrency", in: 1...64) ?? mail.concurrency
        mail.messagesPerSecond = Double(try reader.integer("mail.messages_per_second", in: 0...100_000) ?? 0)
        mail.messagesPerHour = Double(try reader.integer("mail.messages_per_hour", in: 0...100_000_000) ?? 0)
        mail.listMessagesPerSecond = Double(
            try reader.integer("mail.list_messages_per_second", in: 0...100_000) ?? 0)
        mail.retries = try reader.integer("mail.retries", in: 0...10) ?? mail.retries
        mail.bounceAfter = try reader.integer("mail.bounce_after", in: 1...100) ?? mail.bounceAfter
        smtp.username = try reader.string("smtp.username")
        smtp.password = try reader.string("smtp.password")
        editor.token = try reader.string("editor.token", nonEmpty: true)
        editor.bcryptCost = try reader.integer("editor.bcrypt_cost", in: 4...31) ?? editor.bcryptCost
        editor.sessionHours = try reader.integer("editor.session_hours", in: 1...720) ?? editor.sessionHours
        editor.invitationHours = try reader.integer("editor.invitation_hours", in: 1...720) ?? editor.invitationHours

        issue.policy.maxComparisons =
            try reader.integer("issue.max_comparisons", in: 1...50) ?? issue.policy.maxComparisons
        issue.policy.minComparisons =
            try reader.integer("issue.min_comparisons", in: 0...50) ?? issue.policy.minComparisons
        if issue.policy.minComparisons > issue.policy.maxComparisons {
            throw reader.invalid(
                "issue.min_comparisons",
                "\(issue.policy.minComparisons) is more than issue.max_comparisons (\(issue.policy.maxComparisons))")
        }
        if let week = try reader.string("issue.week") {
            guard let parsed = DefaultWeek(rawValue: week) else {
                throw reader.invalid("issue.week", "\"\(week)\" is not \"previous\" or \"current\"")
            }
            defaultWeek = parsed
        }
        issue.listName = try reader.string("list.name", nonEmpty: true) ?? issue.listName
        issue.language = try reader.string("list.language", nonEmpty: true) ?? issue.language
        issue.siteURL = try reader.httpURL("list.site_url") ?? issue.siteURL
        issue.publicURL = try reader.httpURL("server.public_url") ?? issue.publicURL
        server.trustForwardedFor = try reader.bool("server.trust_forwarded_for") ?? server.trustForwardedFor
        server.postsPerMinutePerClient =
            try reader.integer("server.posts_per_minute_per_client", in: 1...100_000_000) ?? server.postsPerMinutePerClient
        server.maxBodyBytes = try reader.integer("server.max_body_bytes", in: 1024...(1 << 20)) ?? server.maxBodyBytes
        server.apiRequestsPerMinute =
            try reader.integer("api.requests_per_minute", in: 1...100_000_000) ?? server.apiRequestsPerMinute
        server.apiBurst = try reader.integer("api.burst", in: 1...1_000_000) ?? server.apiBurst
        server.apiMaxBodyBytes = try reader.integer("api.max_body_bytes", in: 1024...(64 << 20)) ?? server.apiMaxBodyBytes
        if let clicks = try reader.string("tracking.clicks") {
            guard let mode = ClickTracking(rawValue: clicks) else {
                throw reader.invalid(
                    "tracking.clicks",
                    "\"\(clicks)\" is not one of \(ClickTracking.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            issue.clicks = mode
        }
        server.clickFlushSeconds =
            try reader.integer("tracking.flush_seconds", in: 1...3600) ?? server.clickFlushSeconds
        if let days = try reader.integer("signup.confirmation_days", in: 1...30) {
            signup.confirmationLifetime = TimeInterval(days * 86400)
        }
        if let minutes = try reader.integer("signup.resend_minutes", in: 0...10080) {
            signup.resendInterval = TimeInterval(minutes * 60)
        }
        signup.maxConfirmationsPerDay =
            try reader.integer("signup.max_confirmations_per_day", in: 1...100) ?? signup.maxConfirmationsPerDay

        if let approval = try reader.string("run.approval") {
            guard let parsed = ApprovalPolicy(rawValue: approval) else {
                throw reader.invalid("run.approval", "\"\(approval)\" is not \"manual\" or \"auto\"")
            }
            run.approval = parsed
        }
        if let editors = try reader.strings("run.editors") {
            for editor in editors {
                do { _ = try MailAddress(editor) } catch {
                    throw reader.invalid("run.editors", "\"\(editor)\": \(error)")
                }
            }
            run.editors = editors
        }
        if let cutoff = try reader.string("run.cutoff"), cutoff != "none" {
            guard let parsed = RunCutoff(parsing: cutoff) else {
                throw reader.invalid(
                    "run.cutoff", "\"\(cutoff)\" is not a duration like \"36h\" or \"3d\" (or \"none\")")
            }
            run.cutoff = parsed
        }
        if let missed = try reader.string("run.missed") {
            guard let parsed = MissedWeekPolicy(rawValue: missed) else {
                throw reader.invalid("run.missed", "\"\(missed)\" is not \"send-late\" or \"skip\"")
            }
            run.missed = parsed
        }

        summaries = try reader.summaries()
        dkim = try DKIM.read(from: &reader)
        issue.topics = try reader.topicAliases()
        issue.maxVariants = try reader.integer("issue.max_variants", in: 1...1000) ?? issue.maxVariants
        bounces = try reader.bounces()
        webhooks = try reader.webhooks()
        if let level = try reader.string("log.level") {
            guard let parsed = Logger.Level(rawValue: level.lowercased()) else {
                throw reader.invalid(
                    "log.level",
                    "\"\(level)\" is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logLevel = parsed
        }
    }

    private mutating func applySecrets(from environment: [String: String], workingDirectory: String) {
        if let password = environment[Environment.smtpPassword], !password.isEmpty { smtp.password = password }
        if let token = environment[Environment.editorToken], !token.isEmpty { editor.token = token }
        if let keyFile = environment[Environment.dkimKeyFile], !keyFile.isEmpty {
            // Relative to where the command runs, like any path given on the command line.
            dkim.privateKey =
                keyFile.hasPrefix("/") ? keyFile : (workingDirectory as NSString).appendingPathComponent(keyFile)
        }
        bounces.applySecrets(from: environment)
    }

    /// Per-reader counting needs the key that signs each reader's links; the key alone does nothing.
    private mutating func readClickKey(from environment: [String: String]) throws(ConfigurationError) {
        let secret = environment[Environment.clickKey] ?? ""
        clickReaderKey = ClickReaderKey(secret: secret)
        guard issue.clicks == .perReader, clickReaderKey == nil else { return }
        throw .invalidValue(
            file: file ?? "environment", key: "tracking.clicks",
            message:
                "\"per-reader\" needs \(Environment.clickKey) in the environment: a secret of at least \(ClickReaderKey.minimumLength) characters that signs each reader's links\(secret.isEmpty ? "" : " (the one set is shorter)")"
        )
    }

    private mutating func resolvePaths(against base: String) {
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: base).appendingPathComponent(path).standardized.path
        }
        // Sources that are paths (not URLs) are relative to the file too.
        ingest.sources = ingest.sources.map { $0.contains("://") ? $0 : resolve($0) }
        dataDirectory = resolve(dataDirectory)
        outboxDirectory = resolve(outboxDirectory)
        templatesDirectory = resolve(templatesDirectory)
        databasePath = resolve(databasePath)
        smtp.caFile = smtp.caFile.map(resolve)
        for index in smtp.relays.indices { smtp.relays[index].caFile = smtp.relays[index].caFile.map(resolve) }
        if let caFile = bounces.mailbox?.caFile { bounces.mailbox?.caFile = resolve(caFile) }
        if let caFile = bounces.providers.ses?.caFile { bounces.providers.ses?.caFile = resolve(caFile) }
        summaries.llamaServer = summaries.llamaServer.map(resolve)
        // A preset's name is not a path.
        summaries.model = summaries.model.map { ModelPreset(rawValue: $0) == nil ? resolve($0) : $0 }
        dkim.privateKey = dkim.privateKey.map(resolve)
        dkim.ed25519PrivateKey = dkim.ed25519PrivateKey.map(resolve)
    }
}

/// What is wrong with the configuration, naming the file, and the key or line.
public enum ConfigurationError: Error, Equatable, CustomStringConvertible {
    case unreadable(file: String, reason: String)
    case syntax(file: String, line: Int?, message: String)
    case invalidValue(file: String, key: String, message: String)
    case unknownKey(file: String, key: String, known: [String])

    public var description: String {
        switch self {
        case .unreadable(let file, let reason):
            "cannot read the configuration file \(file): \(reason)"
        case .syntax(let file, let line, let message):
            "\(file)\(line.map { ":\($0)" } ?? ""): not valid TOML: \(message)"
        case .invalidValue(let file, let key, let message):
            "\(file): key `\(key)`: \(message)"
        case .unknownKey(let file, let key, let known):
            "\(file): unknown key `\(key)`; known keys here: \(known.joined(separator: ", "))"
        }
    }
}

/// Reads typed settings out of a flattened TOML table, remembering which keys were used.
struct SettingsReader {
    let file: String
    let values: [String: TOMLValueConvertible]
    var consumed: Set<String> = []

    init(file: String, values: [String: TOMLValueConvertible]) {
        self.file = file
        self.values = values
    }

    static let knownKeys: [String] = [
        "time_zone", "data_dir", "outbox_dir", "templates_dir", "store.path", "store.url", "ingest.sources",
        "ingest.max_page_bytes", "ingest.timeout_seconds", "ingest.connect_timeout_seconds", "ingest.user_agent",
        "smtp.url", "smtp.username", "smtp.password", "editor.token", "editor.bcrypt_cost",
        "editor.session_hours", "editor.invitation_hours", "log.level", "issue.max_comparisons",
        "issue.min_comparisons", "issue.week", "list.name", "list.language", "list.site_url", "server.public_url",
        "smtp.allow_plaintext", "smtp.ca_file", "smtp.connect_timeout_seconds", "smtp.command_timeout_seconds",
        "smtp.message_timeout_seconds", "smtp.relays", "mail.from", "mail.from_name", "mail.list_id", "mail.unsubscribe_mailto",
        "mail.feedback_id", "mail.concurrency", "mail.messages_per_second", "mail.messages_per_hour", "mail.list_messages_per_second", "mail.retries",
        "mail.bounce_after", "server.trust_forwarded_for", "server.posts_per_minute_per_client",
        "server.max_body_bytes", "signup.confirmation_days", "signup.resend_minutes", "signup.max_confirmations_per_day",
        "run.approval", "run.editors", "run.cutoff", "run.missed", "tracking.clicks", "tracking.flush_seconds",
        "api.requests_per_minute", "api.burst", "api.max_body_bytes",
    ] + summaryKeys + topicKeys + bounceKeys + webhookKeys + Configuration.DKIM.keys

    /// `[ingest] max_page_bytes = 1` becomes `"ingest.max_page_bytes"`.
    static func flatten(_ table: TOMLTable, prefix: String = "") -> [String: TOMLValueConvertible] {
        var result: [String: TOMLValueConvertible] = [:]
        for key in table.keys {
            guard let value = table[key] else { continue }
            let dotted = prefix.isEmpty ? key : "\(prefix).\(key)"
            if value.type == .table, let inner = value.table {
                result.merge(flatten(inner, prefix: dotted)) { $1 }
            } else {
                result[dotted] = value
            }
        }
        return result
    }

    func invalid(_ key: String, _ message: String) -> ConfigurationError {
        .invalidValue(file: file, key: key, message: message)
    }

    mutating func string(_ key: String, nonEmpty: Bool = false) throws(ConfigurationError) -> String? {
        consumed.insert(key)
        guard let value = values[key] else { return nil }
        guard value.type == .string, let string = value.string else {
            throw invalid(key, "must be a string, not \(Self.describe(value))")
        }
        if nonEmpty && string.trimmingCharacters(in: .whitespaces).isEmpty { throw invalid(key, "must not be empty") }
        return string
    }

    /// An absolute http(s) URL, without a trailing slash.
    mutating func httpURL(_ key: String) throws(ConfigurationError) -> String? {
        guard let text = try string(key, nonEmpty: true) else { return nil }
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""),
            url.host?.isEmpty == false
        else {
            throw invalid(key, "\"\(text)\" is not an absolute http(s) URL")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }

    mutating func path(_ key: String) throws(ConfigurationError) -> String? {
        try string(key, nonEmpty: true)
    }

    mutating func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        consumed.insert(key)
        guard let value = values[key] else { return nil }
        guard value.type == .bool, let bool = value.bool else {
            throw invalid(key, "must be true or false, not \(Self.describe(value))")
        }
        return bool
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        consumed.insert(key)
        guard let value = values[key] else { return nil }
        guard value.type == .int, let integer = value.int else {
            throw invalid(key, "must be an integer, not \(Self.describe(value))")
        }
        guard range.contains(integer) else {
            throw invalid(key, "\(integer) is out of range (\(range.lowerBound)…\(range.upperBound))")
        }
        return integer
    }

    mutating func strings(_ key: String) throws(ConfigurationError) -> [String]? {
        consumed.insert(key)
        guard let value = values[key] else { return nil }
        guard value.type == .array, let array = value.array else {
            throw invalid(key, "must be an array of strings, not \(Self.describe(value))")
        }
        var strings: [String] = []
        for (index, element) in array.enumerated() {
            guard element.type == .string, let string = element.string else {
                throw invalid(key, "element \(index + 1) must be a string, not \(Self.describe(element))")
            }
            strings.append(string)
        }
        return strings
    }

    func rejectUnknownKeys() throws(ConfigurationError) {
        for key in values.keys.sorted() where !consumed.contains(key) {
            let section = key.contains(".") ? String(key.prefix { $0 != "." }) + "." : ""
            let siblings = Self.knownKeys.filter { section.isEmpty ? !$0.contains(".") : $0.hasPrefix(section) }
            throw .unknownKey(file: file, key: key, known: siblings.isEmpty ? Self.knownKeys : siblings)
        }
    }

    private static func describe(_ value: TOMLValueConvertible) -> String {
        switch value.type {
        case .string: "the string \"\(value.string ?? "")\""
        case .int: "the integer \(value.int ?? 0)"
        case .double: "the number \(value.double ?? 0)"
        case .bool: "the boolean \(value.bool ?? false)"
        case .array: "an array"
        case .table: "a table"
        default: "a \(value.type)"
        }
    }
}
