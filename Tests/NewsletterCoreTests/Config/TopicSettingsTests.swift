import Foundation
import Testing

@testable import NewsletterCore

/// `[topics.aliases]` and `issue.max_variants` in newsletter.toml.
struct TopicSettingsTests {
    @Test func aliasesRenameAndMergeCategoriesWhateverTheirCaseAndSpacing() throws {
        let configuration = try Configuration.parse(
            """
            [issue]
            max_variants = 4

            [topics.aliases]
            "Developer Tools" = "Engineering"
            "dev  tools" = "Engineering"
            Writing = "Words"
            """)
        let aliases = configuration.issue.topics
        #expect(configuration.issue.maxVariants == 4)
        #expect(aliases.resolve("developer tools") == "Engineering")
        #expect(aliases.resolve("Dev Tools") == "Engineering")
        #expect(aliases.resolve(" Writing ") == "Words")
        #expect(aliases.resolve("Audio") == "Audio")
        #expect(Configuration().issue.maxVariants == 16)
    }

    @Test func aChainedOrEmptyAliasIsAnErrorNamingTheKey() {
        #expect(throws: ConfigurationError.self) { try Configuration.parse("[topics.aliases]\nWriting = \"\"\n") }
        do {
            _ = try Configuration.parse("[topics.aliases]\nA = \"B\"\nB = \"C\"\n", file: "n.toml")
            Issue.record("a chain of aliases was accepted")
        } catch {
            #expect("\(error)".contains("topics.aliases.A"))
            #expect("\(error)".contains("itself renamed"))
        }
        #expect(throws: ConfigurationError.self) { try Configuration.parse("[issue]\nmax_variants = 0\n") }
        #expect(throws: ConfigurationError.self) { try Configuration.parse("[topics]\nrename = 1\n") }
    }
}
