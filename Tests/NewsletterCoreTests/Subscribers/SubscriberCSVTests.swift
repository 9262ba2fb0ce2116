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

    @Test func theCLIImportsIdempotentlyReportsBadLinesAndNeverUndoesAnUnsubscribe() throws {
        let cli = try CommandLineTests()
        let csv = cli.directory.appendingPathComponent("list.csv")
        try "email,name\nada@example.org,Ada\nbroken@@example.org,X\nleft@example.org,Left\n".write(
            to: csv, atomically: true, encoding: .utf8)
        let first = try cli.run(["subscribers", "import", csv.path])
        #expect(first.status == 1)
        #expect(first.stdout.contains("2 added, 0 already known, 1 refused"))
        #expect(first.stderr.contains("list.csv:3:"))
        // left@ unsubscribes; importing the same file again changes nothing.
        let store = try AppDatabase.open(path: cli.directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        let left = try #require(try store.subscriber(email: "left@example.org"))
        try store.setStatus(.unsubscribed, forSubscriber: left.id)
        #expect(try store.consentRecords(subscriberID: left.id).map(\.event) == ["import"])
        let second = try cli.run(["subscribers", "import", csv.path])
        #expect(second.stdout.contains("0 added, 2 already known, 1 refused"))
        #expect(try store.subscriber(email: "left@example.org")?.status == .unsubscribed)

        let export = try cli.run(["subscribers", "export"])
        #expect(export.status == 0)
        let lines = export.stdout.split(separator: "\n")
        #expect(lines.first == "email,name,status,format,paused,created_at,confirmed_at")
        #expect(lines.contains { $0.hasPrefix("ada@example.org,Ada,confirmed,html,false,") })
        #expect(lines.contains { $0.hasPrefix("left@example.org,Left,unsubscribed,") })

        #expect(try cli.run(["subscribers", "remove", "ada@example.org"]).status == 0)
        #expect(try store.subscriber(email: "ada@example.org") == nil)
        let missing = try cli.run(["subscribers", "remove", "ada@example.org"])
        #expect(missing.status == 1 && missing.stderr.contains("is not a subscriber"))
    }
}
