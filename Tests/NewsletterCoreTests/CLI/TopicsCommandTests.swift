import Foundation
import Testing

@testable import NewsletterCore

/// `topics list`, a week refused for too many variants, and `archive build`/`hide`, through
/// the built executable.
struct TopicsCommandTests {
    let cli: CommandLineTests

    init() throws {
        cli = try CommandLineTests()
        try """
        templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
        [summaries]
        enabled = false
        [server]
        public_url = "https://news.example.org"
        [issue]
        max_variants = 3
        [topics.aliases]
        "Data & Analytics" = "Data"
        """.write(to: cli.directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        #expect(try cli.run(["ingest", TestPaths.examples.path]).status == 0)
    }

    func importList(_ rows: String) async throws {
        let csv = cli.directory.appendingPathComponent("list.csv")
        try ("email,topics\n" + rows).write(to: csv, atomically: true, encoding: .utf8)
        #expect(try await cli.run(["subscribers", "import", csv.path]).status == 0)
    }

    @Test func topicsListCountsComparisonsUnderTheAliases() async throws {
        let listed = try await cli.run(["topics", "list", "--json"])
        #expect(listed.status == 0)
        let counts = try JSONDecoder().decode([TopicCount].self, from: Data(listed.stdout.utf8))
        #expect(counts.map(\.topic) == ["Data", "Developer Tools", "Documentation", "Productivity"])
        #expect(counts.first == TopicCount(topic: "Data", comparisons: 1, categories: ["Data & Analytics"]))
    }

    @Test func aWeekWithMoreVariantsThanAllowedIsRefusedAtPreviewWithTheCounts() async throws {
        try await importList("a@example.org,Data\nb@example.org,Documentation\nc@example.org,Productivity\nd@example.org,\n")
        let refused = try await cli.run(["preview", "--week", "2026-W47"])
        #expect(refused.status == 78)
        #expect(refused.stderr.contains("would need 4 variants"))
        #expect(refused.stderr.contains("4 readers") && refused.stderr.contains("issue.max_variants = 3"))
        #expect(!FileManager.default.fileExists(atPath: cli.directory.appendingPathComponent("outbox/2026-W47").path))
        #expect(try await cli.run(["send", "--week", "2026-W47"]).status == 4)
    }

    @Test func theArchiveIsBuiltFromSentIssuesOnlyAndAnIssueCanBeHidden() async throws {
        try await importList("a@example.org,Data\nb@example.org,\n")
        let site = cli.directory.appendingPathComponent("site")
        #expect(try await cli.run(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try await cli.run(["approve", "--week", "2026-W47"]).status == 0)
        // Approved is not sent: nothing to publish yet, and nothing to hide.
        #expect(try await cli.run(["archive", "build", site.path]).stdout.contains("0 issue(s)"))
        #expect(try await cli.run(["archive", "hide", "2026-W47"]).status == 1)
        #expect(try await cli.run(["send", "--week", "2026-W47"]).status == 0)
        #expect(try await cli.run(["archive", "build", site.path]).stdout.contains("1 issue(s), 3 file(s)"))
        let page = try String(contentsOf: site.appendingPathComponent("2026-W47/index.html"), encoding: .utf8)
        #expect(page.contains("Inkwell vs Tallyhoist") && page.contains("Lanternfish vs Quillmark"))
        #expect(!page.contains("%%") && !page.contains("/unsubscribe/"))
        #expect(try await cli.run(["archive", "hide", "2026-W47"]).status == 0)
        _ = try await cli.run(["archive", "build", site.path])
        #expect(!FileManager.default.fileExists(atPath: site.appendingPathComponent("2026-W47").path))
        #expect(try await cli.run(["archive", "show"]).stdout.contains("2026-W47  hidden"))
        #expect(try await cli.run(["archive", "hide", "2026-W47", "--show"]).status == 0)
        // The approval, hiding and showing are in the audit log, by the command line; the refused
        // hide is not.
        let audit = try await cli.run(["audit", "--week", "2026-W47"]).stdout
        #expect(audit.contains("\tcli\tissue.approve\t2026-W47"), "\(audit)")
        #expect(audit.contains("\tcli\tarchive.show\t2026-W47") && audit.contains("\tcli\tarchive.hide\t2026-W47"), "\(audit)")
        #expect(audit.split(separator: "\n").count == 3, "\(audit)")
    }
}
