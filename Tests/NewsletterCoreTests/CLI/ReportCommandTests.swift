import Foundation
import Testing

/// `newsletter report --week W [--json]` as an editor runs it.
struct ReportCommandTests {
    let directory = try! TestPaths.temporaryDirectory()

    func run(_ arguments: [String]) throws -> CommandLineTests.Run {
        try CommandLineTests.run(arguments, in: directory)
    }

    @Test func aBadWeekAndAWeekWithoutAnIssueAreRefusedSayingWhy() throws {
        let bad = try run(["report", "--week", "2026-W99"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("--week: 2026 has 53 ISO weeks; there is no week 99"), "\(bad.stderr)")
        let missing = try run(["report", "--week", "2026-W47"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("2026-W47 has no issue to report on"), "\(missing.stderr)")
    }

    @Test func aDraftsReportIsPrintedAsTextAndAsJSON() throws {
        try "templates_dir = \"\(TestPaths.repository.appendingPathComponent("templates").path)\"\n[summaries]\nenabled = false\n"
            .write(to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        #expect(try run(["ingest", TestPaths.examples.path]).status == 0)
        #expect(try run(["preview", "--week", "2026-W47"]).status == 0)
        let text = try run(["report", "--week", "2026-W47"])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.hasPrefix("2026-W47  draft"))
        #expect(text.stdout.contains("progress: nothing sent yet"))
        let json = try run(["report", "--week", "2026-W47", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["week"] as? String == "2026-W47" && object["status"] as? String == "draft")
        #expect((object["ledger"] as? [String: Int])?["sent"] == 0)
        #expect((object["bounces"] as? [String: Any])?["complaintLimit"] as? Double == 0.003)
    }
}
