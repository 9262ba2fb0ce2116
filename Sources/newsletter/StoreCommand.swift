import ArgumentParser
import Foundation
import NewsletterCore

/// `newsletter store …`: the store itself, whichever backend `store.url` selects.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "The store: bring its schema up to date.",
        subcommands: [Migrate.self]
    )

    struct Migrate: ParsableCommand {
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

        func run() throws {
            let context = try global.context()
            switch context.configuration.store {
            case .sqlite(let path):
                do {
                    _ = try AppDatabase.open(path: path)
                } catch {
                    Terminal.printError("\(error)")
                    throw ExitCode(ExitStatus.storeError.rawValue)
                }
                print("SQLite store \(path): schema up to date")
            case .postgres(let location):
                do {
                    let store = try PostgresStore.connect(location, logger: context.logger)
                    let applied = try store.migrate()
                    let version = try store.schemaVersion()
                    store.close()
                    print(
                        "PostgreSQL store \(location): schema version \(version)\(applied.isEmpty ? ", up to date" : " (applied \(applied.map(String.init).joined(separator: ", ")))")"
                    )
                    context.logger.info(
                        "store migrated", metadata: ["store": "\(location)", "applied": "\(applied)", "version": "\(version)"])
                } catch {
                    Terminal.printError("\(error)")
                    throw ExitCode(error.exitStatus.rawValue)
                }
            }
        }
    }
}
