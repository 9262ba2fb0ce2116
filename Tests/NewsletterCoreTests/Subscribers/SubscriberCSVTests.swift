import Foundation
import Testing

@testable import NewsletterCore

/// Importing and exporting subscriber lists as CSV, through the parser and the real CLI.
struct SubscriberCSVTests {
    @Test func rowsWithAndWithoutAHeaderQuotedFieldsAndBadRowsByLine() {
        let text = """
            Name,Email,Source\r
            "Lovelace, Ada",ada@example.org,web\r
            Grace,grace@example.org\r
            \r
            Bad,not-an-address\r
            "Multi
            line",multi@example.org
            Unclosed,"x@example.org
            """
        let (rows, errors) = SubscriberCSV.parse(text)
        #expect(rows.map(\.email) == ["ada@example.org", "grace@example.org"])
        #expect(rows.map(\.name) == ["Lovelace, Ada", "Grace"])
        #expect(rows.map(\.line) == [2, 3])
        // A quoted name spanning two lines is read whole (and refused: no LF in a name), so the
        // rows after it keep their true line numbers.
        #expect(errors.map(\.line) == [5, 6, 8])
        #expect(errors[0].message.contains("not-an-address"))
        #expect(errors[1].message.contains("LF"))
        #expect(errors[2].message.contains("not closed"))
    }

    @Test func withoutAHeaderTheFirstColumnIsTheAddress() {
        let (rows, errors) = SubscriberCSV.parse("ada@example.org,Ada\nbob@example.org\n")
        #expect(rows.map(\.email) == ["ada@example.org", "bob@example.org"] && errors.isEmpty)
        #expect(rows.map(\.name) == ["Ada", nil])
    }

    @Test func anInjectedLineBreakInAnAddressIsARefusedRow() {
        let (rows, errors) = SubscriberCSV.parse("email\n\"ada@example.org\r\nBcc: x@example.org\"\n")
        #expect(rows.isEmpty)
        #expect(errors.count == 1 && errors[0].line == 2)
    }

    @Test func exportQuotesAndDefusesSpreadsheetFormulas() {
        #expect(SubscriberCSV.quote("=HYPERLINK(\"x\")") == "\"'=HYPERLINK(\"\"x\"\")\"")
        #expect(SubscriberCSV.quote("Lovelace, Ada") == "\"Lovelace, Ada\"")
        #expect(SubscriberCSV.quote("plain") == "plain")
    }

    @Test func theCLIImportsIdempotentlyReportsBadLinesAndNeverUndoesAnUnsubscribe() async throws {
        let cli = try CommandLineTests()
        let csv = cli.directory.appendingPathComponent("list.csv")
        try "email,name\nada@example.org,Ada\nbroken@@example.org,X\nleft@example.org,Left\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let first = try await cli.run(["subscribers", "import", csv.path])
        #expect(first.status == 1)
        #expect(first.stdout.contains("2 added, 0 already known, 1 refused"))
        #expect(first.stderr.contains("list.csv:3:"))
        // left@ unsubscribes; importing the same file again changes nothing.
        let store = try AppDatabase.open(
            path: cli.directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let left = try await #require(try store.subscriber(email: "left@example.org"))
        try await store.setStatus(.unsubscribed, forSubscriber: left.id)
        await #expect(try store.consentRecords(subscriberID: left.id).map(\.event) == ["import"])
        let second = try await cli.run(["subscribers", "import", csv.path])
        #expect(second.stdout.contains("0 added, 2 already known, 1 refused"))
        await #expect(try store.subscriber(email: "left@example.org")?.status == .unsubscribed)

        let export = try await cli.run(["subscribers", "export"])
        #expect(export.status == 0)
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.first == "email,name,status,format,paused,created_at,confirmed_at,topics")
        #expect(lines.contains { $0.hasPrefix("ada@example.org,Ada,confirmed,html,false,") })
        #expect(lines.contains { $0.hasPrefix("left@example.org,Left,unsubscribed,") })

        await #expect(try cli.run(["subscribers", "remove", "ada@example.org"]).status == 0)
        await #expect(try store.subscriber(email: "ada@example.org") == nil)
        let missing = try await cli.run(["subscribers", "remove", "ada@example.org"])
        #expect(missing.status == 1 && missing.stderr.contains("is not a subscriber"))
    }

    @Test func aTopicsColumnIsReadSplitAndATooLongOneIsRefusedByLine() {
        let long = String(repeating: "Writing;", count: 200)
        let (rows, errors) = SubscriberCSV.parse(
            "email,topics,name\nada@example.org,Writing; Data & Analytics,Ada\nbo@example.org,,Bo\ncy@example.org,\(long)\n"
        )
        #expect(rows.map(\.email) == ["ada@example.org", "bo@example.org"])
        #expect(rows.map(\.topics) == [["Writing", "Data & Analytics"], []])
        #expect(errors.count == 1 && errors[0].line == 4)
        #expect(errors[0].message.contains("topics column is 1600 characters long, more than 1000"))
        let catalog = TopicCatalog(categories: ["Writing", "Data & Analytics"], aliases: TopicAliases())
        let unknown = SubscriberCSV.parse("email,topics\nada@example.org,Writing;Gardening\n").rows
        let (checked, refused) = SubscriberCSV.checkTopics(unknown + rows, catalog: catalog, aliases: TopicAliases())
        #expect(refused.map(\.line) == [2])
        #expect(refused.first?.message.contains("\"Gardening\" is not a topic") == true)
        #expect(checked.map(\.choice) == [TopicChoice(["Data & Analytics", "Writing"]), .everything])
    }

    @Test func theCLIImportsAndExportsTopicsAndNamesTheFileAndLineOfABadOne() throws {
        let cli = try CommandLineTests()
        #expect(
            try cli.run([
                "ingest", TestPaths.repository.appendingPathComponent("examples/inkwell-vs-tallyhoist.txt").path,
            ]).status == 0)
        // An earlier subscriber without a consent record: the imported rows' ids and their
        // consent rows' ids then differ, so topics stored under the wrong id would show.
        #expect(try cli.run(["subscribers", "add", "zed@example.org"]).status == 0)
        let csv = cli.directory.appendingPathComponent("topics.csv")
        try
            "email,name,topics\nada@example.org,Ada,documentation\nbo@example.org,Bo,Knitting\ncy@example.org,Cy,\(String(repeating: "x", count: 1001))\ndee@example.org,Dee,\n"
            .write(to: csv, atomically: true, encoding: .utf8)
        let result = try cli.run(["subscribers", "import", csv.path])
        #expect(result.status == 1)
        #expect(result.stdout.contains("2 added, 0 already known, 2 refused"))
        #expect(result.stderr.contains("topics.csv:3: the topics column: \"Knitting\" is not a topic"))
        #expect(result.stderr.contains("topics.csv:4: the topics column is 1001 characters long"))
        let export = try cli.run(["subscribers", "export"])
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("ada@example.org,Ada,confirmed,") && $0.hasSuffix(",Documentation") })
        #expect(lines.contains { $0.hasPrefix("dee@example.org,Dee,confirmed,") && $0.hasSuffix("Z,") })
        #expect(lines.contains { $0.hasPrefix("zed@example.org,") && $0.hasSuffix(",") })
        let listed = try cli.run(["topics", "list"])
        #expect(listed.stdout.contains("Data & Analytics") && listed.stdout.contains("1 comparison"))
    }
}
