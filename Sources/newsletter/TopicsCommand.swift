import ArgumentParser
import Foundation
import NewsletterCore

struct Topics: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The topics readers can choose: the categories of the comparison pages.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the topics with how many comparisons each has had.",
            discussion: """
                Both tools' categories count. [topics.aliases] in the configuration renames or \
                merges them (the categories behind a merged topic are listed beside it).
                """)

        @OptionGroup var global: GlobalOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            let context = try global.components()
            try await context.withStore { store in
                let counts = try await store.topicCounts(aliases: context.configuration.issue.topics)
                if json {
                    print(try JSONOutput.string(counts))
                    return
                }
                if counts.isEmpty {
                    print(
                        "No topics yet: they come from the categories of ingested pages (`newsletter ingest SOURCE…`).")
                    return
                }
                let width = min(40, counts.map(\.topic.count).max() ?? 0)
                for count in counts {
                    let merged =
                        count.categories == [count.topic] ? "" : "  (from \(count.categories.joined(separator: ", ")))"
                    print(
                        count.topic.padding(toLength: max(width, count.topic.count), withPad: " ", startingAt: 0)
                            + "  \(count.comparisons) comparison\(count.comparisons == 1 ? "" : "s")\(merged)")
                }
            }
        }
    }
}
