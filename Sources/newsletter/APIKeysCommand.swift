import ArgumentParser
import Foundation
import NewsletterCore

extension APIScope: ExpressibleByArgument {}

struct APIKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys",
        abstract: "The keys /api/v1 accepts: create one (printed once), list them, revoke one.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it; only its hash is stored, so it cannot be shown again (audited, as cli).",
            discussion: """
                Scopes: read (GET operations), write (also changes to subscribers and issues), \
                admin (also keys, webhooks, and subscribers created with their consent named). \
                Send the key as `Authorization: Bearer KEY`.
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: "A name to list and revoke the key by (unique).") var name: String
        @Option(help: "read, write or admin.") var scope: APIScope

        func run() async throws {
            try await global.components().withStore { store in
                do {
                    let created = try await APIKeyManagement(store: store).create(name: name, scope: scope)
                    print(created.secret)
                    // A notice, not an error: scripts that watch standard error for "error:" are not misled.
                    Terminal.writeError(
                        "newsletter: created key \"\(name)\" (\(scope.rawValue)); the line above is the key, shown this once\n")
                } catch let error as APIKeyError {
                    throw CommandError(.usage, "\(error)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the keys: name, scope, created, last used, revoked (never the key).")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.components().withStore { store in
                let keys = try await store.apiKeys()
                if keys.isEmpty {
                    print("No API keys: `newsletter api-keys create --name NAME --scope read|write|admin` makes one.")
                    return
                }
                let width = keys.map(\.name.count).max() ?? 0
                func stamp(_ date: Date?) -> String { date.map { $0.formatted(.iso8601) } ?? "-" }
                for key in keys {
                    print(
                        [
                            key.name.padding(toLength: width, withPad: " ", startingAt: 0),
                            key.scope.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0),
                            "created \(stamp(key.createdAt))", "last used \(stamp(key.lastUsedAt))",
                            key.revokedAt.map { "revoked \(stamp($0))" } ?? "active",
                        ].joined(separator: "  "))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key by name: requests with it are refused (401) from now on (audited, as cli).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The key's name.") var name: String

        func run() async throws {
            try await global.components().withStore { store in
                guard try await APIKeyManagement(store: store).revoke(name: name) else {
                    throw CommandError(
                        .partialFailure,
                        "no active key is named \"\(name)\"; `newsletter api-keys list` shows the keys")
                }
                print("revoked \(name)")
            }
        }
    }
}
