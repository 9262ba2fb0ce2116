import ArgumentParser
import Foundation
import NewsletterCore

struct Config: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration and print the settings in effect (secrets masked)."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let settings = try global.components().configuration
        func secret(_ value: String?) -> String { value == nil ? "(not set)" : "(set)" }
        /// A URL with its password (if any) masked.
        func masked(_ url: String) -> String {
            guard var components = URLComponents(string: url), components.password != nil else { return url }
            components.password = "****"
            return components.string ?? "(set)"
        }
        // One line per relay; its password only as set or not.
        let relays = settings.smtp.relays.map { relay in
            "  \(relay.name): \(masked(relay.url)) priority \(relay.priority) weight \(relay.weight)"
                + " messages_per_second \(relay.messagesPerSecond > 0 ? "\(Int(relay.messagesPerSecond))" : "none")"
                + " messages_per_connection \(relay.messagesPerConnection > 0 ? "\(relay.messagesPerConnection)" : "none")"
                + " connections \(relay.connections) username \(relay.username ?? "(not set)")"
                + " password \(relay.passwordEnvironment.map { "from $\($0) \(secret(relay.password))" } ?? "(not set)")"
        }.joined(separator: "\n")
        print(
            """
            file:                    \(settings.file ?? "(none: built-in defaults)")
            time_zone:               \(settings.timeZone.identifier)
            data_dir:                \(settings.dataDirectory)
            outbox_dir:              \(settings.outboxDirectory)
            templates_dir:           \(settings.templatesDirectory)
            store.path:              \(settings.databasePath)
            store.url:               \(settings.storeURL.map(\.description) ?? "(not set: the SQLite file at store.path)")
            ingest.sources:          \(settings.ingest.sources)
            ingest.max_page_bytes:   \(settings.ingest.maxPageBytes)
            ingest.timeout_seconds:  \(settings.ingest.timeoutSeconds)
            ingest.connect_timeout_seconds: \(settings.ingest.connectTimeoutSeconds)
            ingest.user_agent:       \(settings.ingest.userAgent)
            issue.max_comparisons:   \(settings.issue.policy.maxComparisons)
            issue.min_comparisons:   \(settings.issue.policy.minComparisons)
            issue.week:              \(settings.defaultWeek.rawValue)
            issue.max_variants:      \(settings.issue.maxVariants)
            topics.aliases:          \(settings.issue.topics.entries.isEmpty ? "none" : settings.issue.topics.entries.map { "\"\($0.category)\" = \"\($0.topic)\"" }.joined(separator: ", "))
            list.name:               \(settings.issue.listName)
            list.language:           \(settings.issue.language)
            list.site_url:           \(settings.issue.siteURL)
            server.public_url:       \(settings.issue.publicURL)
            smtp.url:                \(settings.smtp.url.map(masked) ?? "(none: file transport)")
            smtp.username:           \(settings.smtp.username ?? "(not set)")
            smtp.password:           \(secret(settings.smtp.password))
            smtp.relays:             \(relays.isEmpty ? "none" : "\n" + relays)
            editor.token:            \(secret(settings.editor.token))
            log.level:               \(settings.logLevel.rawValue)
            run.approval:            \(settings.run.approval.rawValue)
            run.editors:             \(settings.run.editors)
            run.cutoff:              \(settings.run.cutoff.map(\.description) ?? "none")
            run.missed:              \(settings.run.missed.rawValue)
            dkim.domain:             \(settings.dkim.domain ?? "(not set: mail is not signed)")
            dkim.selector:           \(settings.dkim.selector ?? "(not set)")
            dkim.private_key:        \(settings.dkim.privateKey ?? "(not set)")
            dkim.ed25519_selector:   \(settings.dkim.ed25519Selector ?? "(not set)")
            dkim.ed25519_private_key: \(settings.dkim.ed25519PrivateKey ?? "(not set)")
            mail.bounce_address:     \(settings.bounces.bounceAddress ?? "(not set: no VERP, mail.from is the envelope sender)")
            mail.bounce_after:       \(settings.mail.bounceAfter)
            mail.bounce_window:      \(Int(settings.bounces.window / 86400)) days
            bounces.mailbox_url:     \(settings.bounces.mailbox.map { masked($0.url) } ?? "(not set)")
            bounces.username:        \(settings.bounces.mailbox?.username ?? "(not set)")
            bounces.password:        \(secret(settings.bounces.mailbox?.password))
            bounces.webhook_token:   \(secret(settings.bounces.webhookToken))
            bounces.providers:       \(settings.bounces.providers.enabled.isEmpty ? "(none)" : settings.bounces.providers.enabled.joined(separator: ", ")) (keys not shown)
            """)
    }
}
