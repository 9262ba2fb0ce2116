import Foundation
import NewsletterCore
import Testing

/// `[run]`: approval policy, editors, cutoff and missed weeks, each checked and named when wrong.
struct RunConfigurationTests {
    @Test func defaultsWaitForAnEditorWithNoCutoffAndSkipMissedWeeks() throws {
        let configuration = try Configuration.parse("")
        #expect(configuration.run.approval == .manual)
        #expect(configuration.run.editors.isEmpty)
        #expect(configuration.run.cutoff == nil)
        #expect(configuration.run.missed == .skip)
    }

    @Test func theRunSectionIsRead() throws {
        let configuration = try Configuration.parse(
            """
            [run]
            approval = "auto"
            editors = ["ed@example.org", "chief@example.org"]
            cutoff = "36h"
            missed = "send-late"
            """)
        #expect(configuration.run.approval == .auto)
        #expect(configuration.run.editors.count == 2)
        #expect(configuration.run.cutoff == .hours(36))
        #expect(configuration.run.missed == .sendLate)
        #expect(try Configuration.parse("[run]\ncutoff = \"none\"").run.cutoff == nil)
    }

    @Test func badValuesAndUnknownKeysNameTheKey() {
        let cases: [(String, String)] = [
            ("[run]\napproval = \"sometimes\"", "run.approval"),
            ("[run]\neditors = [\"not an address\"]", "run.editors"),
            ("[run]\neditors = \"ed@example.org\"", "run.editors"),
            ("[run]\ncutoff = \"3 weeks\"", "run.cutoff"),
            ("[run]\ncutoff = 3", "run.cutoff"),
            ("[run]\nmissed = \"retry\"", "run.missed"),
            ("[run]\naproval = \"auto\"", "run.aproval"),
        ]
        for (text, key) in cases {
            #expect(throws: ConfigurationError.self, "\(key)") { try Configuration.parse(text) }
            do {
                _ = try Configuration.parse(text)
            } catch {
                #expect(error.description.contains("`\(key)`"), "\(error)")
            }
        }
    }
}
