import ArgumentParser
import Foundation
import NewsletterCore

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What became of a week's issue: sent, deferred, failed, skipped; bounces, complaints, unsubscribes; the send over time.",
        discussion: "Reads only. The same report is at /editor/issues/WEEK/report."
    )

    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("The ISO week of the issue, e.g. 2026-W48.", valueName: "week"))
    var week: String
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        do { _ = try IssueWeek(parsing: week) } catch { throw ValidationError("--week: \(error)") }
    }

    func run() async throws {
        let context = try global.components()
        let week = try IssueWeek(parsing: week)
        let report = try await context.withStore { store in try await IssueReport.make(week, store: store, at: Date()) }
        print(try json ? JSONOutput.string(report) : report.text)
    }
}
