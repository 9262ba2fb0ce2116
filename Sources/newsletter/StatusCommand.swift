import ArgumentParser
import Foundation
import NewsletterCore

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What a week holds: its pages, summaries, approval, ledger, the last run and its errors.",
        discussion: "Reads only; never waits on or blocks a run."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var week: WeekOption
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        let context = try global.components()
        let week = self.week.resolve(context.configuration)
        let report = try await context.withStore { store in
            try await WeekStatusReport.make(week, store: store, settings: context.configuration, now: Date())
        }
        print(try json ? JSONOutput.string(report) : report.text)
    }
}
