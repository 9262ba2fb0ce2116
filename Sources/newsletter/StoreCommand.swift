import ArgumentParser
import Foundation
import NewsletterCore

/// `newsletter store …`: the store itself, whichever backend `store.url` selects.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "The store: bring its schema up to date, or copy the SQLite store into PostgreSQL.",
        subcommands: [Migrate.self, Copy.self]
    )

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Apply the schema migrations this newsletter knows (every command also does on start).",
            discussion: """
                Safe to run from several hosts at once: on PostgreSQL the migrations take an \
                advisory lock, so the second process waits and then finds nothing to do. A database \
                with tables newsletter did not create, or a schema newer than this binary, is refused \
                (exit 78) and left as it was; a server that cannot be reached exits 74.
                """
        )

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try global.components()
            switch context.configuration.store {
            case .sqlite(let path):
                _ = try StoreFactory.openSQLite(path)
                print("SQLite store \(path): schema up to date")
            case .postgres(let location):
                let (applied, version) = try await PostgresStore.withStore(
                    location, logger: context.logger, opening: .connect
                ) { store in (try await store.migrate(), try await store.schemaVersion()) }
                print(
                    "PostgreSQL store \(location): schema version \(version)\(applied.isEmpty ? ", up to date" : " (applied \(applied.map(String.init).joined(separator: ", ")))")"
                )
                context.logger.info(
                    "store migrated",
                    metadata: ["store": "\(location)", "applied": "\(applied)", "version": "\(version)"])
            }
        }
    }

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the SQLite store (store.path) into an empty PostgreSQL database.",
            discussion: """
                Reads the whole SQLite store from one snapshot and writes it in one transaction, \
                then compares the row count of every table and commits only if they all match: a \
                copy that fails leaves the database empty. A database that already holds rows is \
                refused (exit 78) and left as it was. The password comes from the URL or \
                NEWSLETTER_STORE_PASSWORD. Stop `serve` and cron while copying: what they write \
                after the snapshot is not copied. Afterwards, set store.url to the same URL.

                Example: newsletter store copy --to 'postgresql://newsletter@db.example.org/newsletter?sslmode=verify-full'
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(
            name: .customLong("to"),
            help: "The PostgreSQL database to copy into: postgresql://user@host[:port]/database.")
        var target: String

        func validate() throws {
            do {
                _ = try PostgresLocation.parse(target)
            } catch {
                throw ValidationError("--to: \(error)")
            }
        }

        func run() async throws {
            let context = try global.components()
            let location: PostgresLocation
            do {
                location = try PostgresLocation.parse(
                    target,
                    passwordFallback: ProcessInfo.processInfo.environment[Configuration.StoreEnvironment.password])
            } catch {
                throw CommandError(.usage, "--to: \(error)")
            }
            let path = context.configuration.databasePath
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandError(.storeError, "there is no SQLite store at \(path) (store.path) to copy")
            }
            let source: AppDatabase
            do {
                source = try AppDatabase.open(path: path)
            } catch {
                throw CommandError(.storeError, "\(error)")
            }
            try await PostgresStore.withStore(location, logger: context.logger) { destination in
                print("copying \(path) into \(location)")
                let report = try await StoreCopy.copy(from: source, to: destination) { table in
                    print("  \(table.name): \(table.postgresRows) row\(table.postgresRows == 1 ? "" : "s")")
                    context.logger.info(
                        "table copied", metadata: ["table": "\(table.name)", "rows": "\(table.postgresRows)"])
                }
                print(
                    "copied \(report.totalRows) rows in \(report.tables.count) tables; every count matches. Set store.url = \"\(location)\" (the password from NEWSLETTER_STORE_PASSWORD) to use it."
                )
                context.logger.info("store copied", metadata: ["store": "\(location)", "rows": "\(report.totalRows)"])
            }
        }
    }
}
