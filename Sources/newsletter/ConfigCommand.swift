import ArgumentParser
import Foundation
import NewsletterCore

struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the configuration and print the settings in effect (secrets masked)."
    )

    @OptionGroup var global: GlobalOptions

    func run() throws {
        let settings = try global.context().configuration
        func secret(_ value: String?) -> String { value == nil ? "(not set)" : "(set)" }
        print(
            """
            file:                    \(settings.file ?? "(none: built-in defaults)")
            time_zone:               \(settings.timeZone.identifier)
            data_dir:                \(settings.dataDirectory)
            outbox_dir:              \(settings.outboxDirectory)
            templates_dir:           \(settings.templatesDirectory)
            store.path:              \(settings.databasePath)
            ingest.sources:          \(settings.ingest.sources)
            ingest.max_page_bytes:   \(settings.ingest.maxPageBytes)
            ingest.timeout_seconds:  \(settings.ingest.timeoutSeconds)
            ingest.connect_timeout_seconds: \(settings.ingest.connectTimeoutSeconds)
            smtp.url:                \(settings.smtp.url ?? "(none: file transport)")
            smtp.username:           \(settings.smtp.username ?? "(not set)")
            smtp.password:           \(secret(settings.smtp.password))
            editor.token:            \(secret(settings.editor.token))
            log.level:               \(settings.logLevel.rawValue)
            """)
    }
}
