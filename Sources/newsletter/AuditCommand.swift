import ArgumentParser
import Foundation
import NewsletterCore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The audit log: who approved, edited, rebuilt, test-sent, hid or changed what, and when.",
        discussion: "Newest first. Actors: an editor's address, `token` (the shared editor token), `cli`.")

    @OptionGroup var global: GlobalOptions
    @Option(help: "Only what was done to this issue (an ISO week such as 2026-W47).") var week: String?
    @Option(help: "At most this many entries.") var limit = 200
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if let week {
            do { _ = try IssueWeek(parsing: week) } catch { throw ValidationError("--week: \(error)") }
        }
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let subject = try week.map { try IssueWeek(parsing: $0).description }
        try await global.components().withStore { store in
            let entries = try await store.auditEntries(subject: subject, limit: limit)
            if json {
                print(try JSONOutput.string(entries))
                return
            }
            if entries.isEmpty { print("Nothing recorded\(subject.map { " for \($0)" } ?? "").") }
            let format = ISO8601DateFormatter()
            for entry in entries {
                let detail = entry.detail.isEmpty ? "" : "\t\(entry.detail)"
                print("\(format.string(from: entry.at))\t\(entry.actor)\t\(entry.action)\t\(entry.subject)\(detail)")
            }
        }
    }
}
