import Foundation
import NewsletterCore
import Testing

/// `[[smtp.relays]]`: every key read, each mistake named by entry and key, passwords only from
/// the environment, and one `smtp.url` still one relay.
struct RelaySettingsTests {
    let twoRelays = """
        [smtp]
        connect_timeout_seconds = 7

        [[smtp.relays]]
        name = "ses"
        url = "smtps://email-smtp.eu-west-1.amazonaws.com:465"
        username = "AKIAEXAMPLE"
        password_env = "SES_SMTP_PASSWORD"
        priority = 1
        weight = 3
        messages_per_second = 14
        messages_per_connection = 50
        connections = 2

        [[smtp.relays]]
        name = "postmark"
        url = "smtp://smtp.postmarkapp.com:587"
        weight = 0.5
        priority = 2
        """

    @Test func everyKeyOfARelayIsRead() throws {
        let relays = try Configuration.parse(twoRelays).smtp.relays
        #expect(relays.map(\.name) == ["ses", "postmark"])
        let ses = relays[0]
        #expect(ses.url == "smtps://email-smtp.eu-west-1.amazonaws.com:465" && ses.username == "AKIAEXAMPLE")
        #expect(ses.passwordEnvironment == "SES_SMTP_PASSWORD" && ses.password == nil)
        #expect(ses.priority == 1 && ses.weight == 3 && ses.messagesPerSecond == 14)
        #expect(ses.messagesPerConnection == 50 && ses.connections == 2)
        let postmark = relays[1]
        #expect(postmark.priority == 2 && postmark.weight == 0.5 && postmark.connections == 4)
        #expect(postmark.messagesPerSecond == 0 && postmark.messagesPerConnection == 0)
    }

    @Test func theRelaysBecomeTheSendsRelaysWithTheSharedTimeouts() throws {
        let relays = try Configuration.parse(twoRelays).relays(for: try IssueWeek(parsing: "2026-W47"))
        #expect(relays.map(\.name) == ["ses", "postmark"])
        #expect(relays.map(\.priority) == [1, 2] && relays.map(\.weight) == [3, 0.5])
        #expect(relays[0].messagesPerSecond == 14 && relays[1].messagesPerSecond == nil)
        #expect(relays[0].messagesPerConnection == 50 && relays[1].messagesPerConnection == nil)
        let transport = try #require(relays[0].transport as? SMTPTransport)
        #expect(transport.settings.connectTimeoutSeconds == 7)
    }

    @Test func oneSMTPURLIsOneRelayWithTheMailConcurrency() throws {
        let configuration = try Configuration.parse(
            """
            [smtp]
            url = "smtp://relay.example.org:587"
            username = "digest"
            [mail]
            concurrency = 6
            """)
        let relays = configuration.relays(for: try IssueWeek(parsing: "2026-W47"))
        #expect(relays.map(\.name) == ["smtp"] && relays[0].connections == 6 && relays[0].messagesPerSecond == nil)
        let transport = try #require(relays[0].transport as? SMTPTransport)
        #expect(transport.settings.url == "smtp://relay.example.org:587" && transport.settings.username == "digest")
        #expect(Configuration().relays(for: try IssueWeek(parsing: "2026-W47")).map(\.name) == ["file"])
    }

    /// Each mistake is refused with the entry's key, and the message names the relay.
    @Test(arguments: [
        ("name = \"a\"\nurl = \"smtp://a.example:25\"\n[[smtp.relays]]\nname = \"a\"\nurl = \"smtp://b.example:25\"",
         "smtp.relays[2].name", "\"a\" is the name of an earlier relay"),
        ("name = \"a\"\nurl = \"smtp://a.example:25\"\nweight = 0", "smtp.relays[1].weight", "relay \"a\": 0.0 is not above 0"),
        ("name = \"a\"\nurl = \"smtp://a.example:25\"\nweight = -2.5", "smtp.relays[1].weight", "not above 0"),
        ("name = \"a\"\nurl = \"http://a.example\"", "smtp.relays[1].url", "relay \"a\": \"http://a.example\" is not an smtp://"),
        ("name = \"a\"\nurl = \"smtp://\"", "smtp.relays[1].url", "not an smtp:// or smtps:// URL with a host"),
        ("name = \"a\"\nurl = \"smtp://u:hunter2@a.example:25\"", "smtp.relays[1].url", "password_env"),
        ("name = \"a\"", "smtp.relays[1].url", "is required"),
        ("url = \"smtp://a.example:25\"", "smtp.relays[1].name", "is required"),
        ("name = \"a b\"\nurl = \"smtp://a.example:25\"", "smtp.relays[1].name", "letters, digits"),
        ("name = \"a\"\nurl = \"smtp://a.example:25\"\nconnections = 0", "smtp.relays[1].connections", "out of range"),
        ("name = \"a\"\nurl = \"smtp://a.example:25\"\npriority = \"high\"", "smtp.relays[1].priority", "integer"),
    ])
    func aBadRelayIsRefusedNamingItsEntryAndKey(_ entry: String, _ key: String, _ message: String) {
        let text = "[[smtp.relays]]\n\(entry)\n"
        #expect {
            try Configuration.parse(text)
        } throws: { error in
            guard case .invalidValue(_, let named, let said) = error as? ConfigurationError else { return false }
            return named == key && said.contains(message)
        }
    }

    @Test func anUnknownKeyInARelayIsNamedWithTheKeysItCouldBe() {
        #expect {
            try Configuration.parse("[[smtp.relays]]\nname = \"a\"\nurl = \"smtp://a.example:25\"\nwieght = 2\n")
        } throws: { error in
            guard case .unknownKey(_, let key, let known) = error as? ConfigurationError else { return false }
            return key == "smtp.relays[1].wieght" && known.contains("smtp.relays[1].weight")
        }
    }

    @Test func smtpURLAndRelaysTogetherAreRefused() {
        #expect {
            try Configuration.parse(
                "[smtp]\nurl = \"smtp://a.example:25\"\n[[smtp.relays]]\nname = \"b\"\nurl = \"smtp://b.example:25\"\n")
        } throws: { error in
            guard case .invalidValue(_, let key, let message) = error as? ConfigurationError else { return false }
            return key == "smtp.relays" && message.contains("not both")
        }
    }

    @Test func aRelaysPasswordComesFromTheVariableItNames() throws {
        let directory = try TestPaths.temporaryDirectory()
        let file = directory.appendingPathComponent("newsletter.toml")
        try twoRelays.write(to: file, atomically: true, encoding: .utf8)
        let loaded = try Configuration.load(path: file.path, environment: ["SES_SMTP_PASSWORD": "s3cret"])
        #expect(loaded.smtp.relays[0].password == "s3cret" && loaded.smtp.relays[1].password == nil)
        let transport = try #require(loaded.relays(for: try IssueWeek(parsing: "2026-W47"))[0].transport as? SMTPTransport)
        #expect(transport.settings.password == "s3cret")
        #expect {
            try Configuration.load(path: file.path, environment: [:])
        } throws: { error in
            guard case .invalidValue(_, let key, let message) = error as? ConfigurationError else { return false }
            return key == "smtp.relays[1].password_env" && message.contains("SES_SMTP_PASSWORD is not set")
        }
    }

    /// `newsletter config` lists each relay, and of its password only whether it is set.
    @Test func configShowsEachRelayAndNeverItsPassword() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let variable = "NEWSLETTER_TEST_RELAY_PASSWORD_\(UInt32.random(in: 0...UInt32.max))"
        let password = "relay-secret-\(UInt32.random(in: 0...UInt32.max))"
        try twoRelays.replacingOccurrences(of: "SES_SMTP_PASSWORD", with: variable).write(
            to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
        let config = try await CommandLineTests.run(["config"], in: directory, environment: [variable: password])
        #expect(config.status == 0, "\(config.stderr)")
        #expect(config.stdout.contains("ses: smtps://email-smtp.eu-west-1.amazonaws.com:465 priority 1 weight 3.0"))
        #expect(config.stdout.contains("password from $\(variable) (set)"), "\(config.stdout)")
        #expect(config.stdout.contains("postmark: smtp://smtp.postmarkapp.com:587 priority 2 weight 0.5"))
        #expect(!config.stdout.contains(password) && !config.stderr.contains(password))
    }
}
