import ArgumentParser
import Foundation
import NewsletterCore

struct Comparisons: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read stored comparisons back.",
        subcommands: [List.self, Show.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List stored comparisons, newest first.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await global.components().withStore { store in
                let summaries = try await store.listComparisons()
                if json {
                    print(try JSONOutput.string(summaries))
                    return
                }
                if summaries.isEmpty {
                    print("No comparisons stored yet; `newsletter ingest SOURCE…` reads some.")
                    return
                }
                for summary in summaries {
                    let date = summary.published.formatted(.iso8601.year().month().day())
                    print(
                        "#\(summary.id)".padding(toLength: 6, withPad: " ", startingAt: 0)
                            + "\(date)  \(summary.title)  (\(summary.takeCount) takes)")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one stored comparison.")

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false
        @Argument(help: "The comparison's id, as `comparisons list` prints it (with or without #).")
        var id: String

        func validate() throws {
            guard Int64(id.hasPrefix("#") ? String(id.dropFirst()) : id) != nil else {
                throw ValidationError("\"\(id)\" is not a comparison id; `newsletter comparisons list` shows them")
            }
        }

        func run() async throws {
            let number = Int64(id.hasPrefix("#") ? String(id.dropFirst()) : id)!
            try await global.components().withStore { store in
                guard let stored = try await store.comparison(id: number) else {
                    throw CommandError(
                        .partialFailure, "no comparison #\(number); `newsletter comparisons list` shows the stored ones"
                    )
                }
                if json {
                    print(try JSONOutput.string(stored))
                } else {
                    print(Self.describe(stored))
                }
            }
        }

        static func describe(_ stored: StoredComparison) -> String {
            let comparison = stored.comparison
            var lines = ["#\(stored.id) \(comparison.title)"]
            lines.append("source:    \(comparison.source)")
            if let url = comparison.url { lines.append("url:       \(url)") }
            lines.append(
                "published: \(comparison.published.formatted(.iso8601)) (from \(comparison.publishedFrom.rawValue))")
            lines.append("layout:    \(comparison.layout.rawValue) \(comparison.markup.rawValue)")
            for tool in comparison.tools {
                lines.append("")
                lines.append("\(tool.name) — \(tool.tagline)")
                var facts: [String] = []
                if let percent = tool.panelShipPercent { facts.append("panel ship \(percent)%") }
                if let ship = tool.shipVotes, let skip = tool.skipVotes { facts.append("\(ship) ship / \(skip) skip") }
                if let pricing = tool.pricing ?? tool.entry { facts.append(pricing) }
                lines.append("  " + facts.joined(separator: " · "))
            }
            lines.append("")
            for take in comparison.takes {
                var head = "\(take.role.rawValue) on \(take.tool)"
                if let score = take.score, let verdict = take.verdict { head += ": \(score)/100 \(verdict.rawValue)" }
                if take.roleInferred || take.toolInferred { head += " (inferred)" }
                lines.append("  \(head)")
                lines.append("    \(take.text.prefix(160))\(take.text.count > 160 ? "…" : "")")
            }
            for slot in comparison.missingTakes {
                lines.append("  \(slot.role.rawValue) on \(slot.tool): no panel take")
            }
            return lines.joined(separator: "\n")
        }
    }
}
