import ArgumentParser
import Foundation
import NewsletterCore

struct Archive: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The public archive of sent issues (served by `serve` at /archive).",
        subcommands: [Build.self, Hide.self, Show.self]
    )

    struct Build: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the archive as static files: index.html, WEEK/index.html, feed.xml.",
            discussion: """
                The same pages `serve` answers at /archive, for a web server that serves DIR at \
                <server.public_url>/archive, so the archive needs no running process.
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The directory to write.") var directory: String

        func run() async throws {
            let context = try global.components()
            let templates = try context.templates()
            try templates.require(ArchivePages.templateNames + ["pages/layout-head.html"])
            try await context.withStore { store in
                let archive = ArchivePages(templates: templates, settings: context.configuration.issue)
                let issues = try await store.sentIssues()
                do {
                    let files = try archive.build(into: directory, issues: issues)
                    print(
                        "\(ArchivePages.published(issues).count) issue(s), \(files.count) file(s) written to \(directory)"
                    )
                } catch {
                    throw CommandError(
                        .storeError, "could not write the archive to \(directory): \(error.localizedDescription)")
                }
            }
        }
    }

    struct Hide: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Hide a sent issue from the archive (or --show it again).")

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The ISO week, e.g. 2026-W47.", transform: { try IssueWeek(parsing: $0) }) var week: IssueWeek
        @Flag(help: "Show the issue again.") var show = false

        func run() async throws {
            try await global.components().withStore { store in
                guard try await store.setHiddenFromArchive(week, hidden: !show) else {
                    throw CommandError(
                        .partialFailure, "\(week) has no sent issue; only sent issues are in the archive")
                }
                try await AuditLog(store: store).record(
                    actor: "cli", action: show ? .archiveShow : .archiveHide, subject: week.description)
                print(show ? "\(week) is in the archive again" : "\(week) is hidden from the archive")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the sent issues and whether the archive shows them.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.components().withStore { store in
                let issues = try await store.sentIssues()
                if issues.isEmpty { print("No issue has been sent yet.") }
                for issue in issues {
                    print(
                        "\(issue.week)  \(issue.hiddenFromArchive ? "hidden   " : "published")  \(issue.subject ?? "")")
                }
            }
        }
    }
}
