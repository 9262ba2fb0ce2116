import Foundation
import NewsletterCore
import Testing

struct ConfigurationTests {
    @Test func noFileMeansTheEmbeddedDefaults() throws {
        let directory = try TestPaths.temporaryDirectory()
        let configuration = try Configuration.load(path: nil, environment: [:], workingDirectory: directory.path)
        #expect(configuration.file == nil)
        #expect(configuration.databasePath == directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        #expect(configuration.outboxDirectory == directory.appendingPathComponent("outbox").path)
        #expect(configuration.smtp.url == nil)  // the file transport
        #expect(configuration.editor.token == nil)  // editor routes off
        #expect(configuration.timeZone.secondsFromGMT() == 0)
        #expect(configuration.ingest.maxPageBytes == 5 << 20)
    }

    @Test func aFileSetsValuesAndPathsAreRelativeToIt() throws {
        let directory = try TestPaths.temporaryDirectory()
        let file = directory.appendingPathComponent("conf/newsletter.toml")
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try """
        time_zone = "Europe/Berlin"
        data_dir = "data"

        [ingest]
        sources = ["pages/", "https://example.com/feed.xml"]
        max_page_bytes = 2_097_152

        [smtp]
        url = "smtps://mail.example.com:465"
        username = "digest"
        password = "from-file"
        """.write(to: file, atomically: true, encoding: .utf8)
        let configuration = try Configuration.load(
            path: file.path, environment: ["NEWSLETTER_SMTP_PASSWORD": "from-env", "NEWSLETTER_EDITOR_TOKEN": "t0k"],
            workingDirectory: "/")
        #expect(configuration.timeZone.identifier == "Europe/Berlin")
        #expect(configuration.databasePath == directory.appendingPathComponent("conf/data/newsletter.sqlite").path)
        #expect(
            configuration.ingest.sources == [
                directory.appendingPathComponent("conf/pages").path, "https://example.com/feed.xml",
            ])
        #expect(configuration.ingest.maxPageBytes == 2 << 20)
        #expect(configuration.smtp.url == "smtps://mail.example.com:465")
        #expect(configuration.smtp.password == "from-env")  // the environment wins for secrets
        #expect(configuration.editor.token == "t0k")
    }

    static let badValues: [(String, String, String)] = [
        ("time_zone = \"Mars/Olympus\"", "time_zone", "not a known IANA time zone"),
        ("[ingest]\nmax_page_bytes = \"5MB\"", "ingest.max_page_bytes", "must be an integer, not the string \"5MB\""),
        ("[ingest]\ntimeout_seconds = 0", "ingest.timeout_seconds", "out of range"),
        ("[ingest]\nsources = [\"a\", 3]", "ingest.sources", "element 2 must be a string"),
        ("[smtp]\nurl = \"http://mail\"", "smtp.url", "not an smtp:// or smtps:// URL"),
        ("[log]\nlevel = \"loud\"", "log.level", "\"loud\" is not one of"),
        ("data_dir = \"\"", "data_dir", "must not be empty"),
    ]

    @Test(arguments: badValues)
    func aBadValueNamesTheKeyAndSaysWhy(toml: String, key: String, reason: String) {
        #expect {
            _ = try Configuration.parse(toml, file: "newsletter.toml")
        } throws: { error in
            guard case .invalidValue(let file, let named, let message) = error as? ConfigurationError else {
                return false
            }
            return file == "newsletter.toml" && named == key && message.contains(reason)
                && "\(error)".contains("`\(key)`")
        }
    }

    @Test func anUnknownKeyIsAnErrorThatListsTheKnownOnes() {
        #expect {
            _ = try Configuration.parse("[smtp]\nhostname = \"mail\"", file: "newsletter.toml")
        } throws: { error in
            guard case .unknownKey(let file, let key, let known) = error as? ConfigurationError else { return false }
            return file == "newsletter.toml" && key == "smtp.hostname" && known.contains("smtp.url")
                && known.allSatisfy { $0.hasPrefix("smtp.") }
        }
    }

    @Test func aSyntaxErrorNamesTheLine() {
        #expect {
            _ = try Configuration.parse("time_zone = \"UTC\"\n\n[ingest\nsources = []\n", file: "n.toml")
        } throws: { error in
            guard case .syntax(let file, let line, _) = error as? ConfigurationError else { return false }
            return file == "n.toml" && line == 3
        }
    }

    @Test func aNamedFileMustExist() {
        #expect(throws: ConfigurationError.unreadable(file: "/nonexistent/newsletter.toml", reason: "no such file")) {
            _ = try Configuration.load(path: "/nonexistent/newsletter.toml", environment: [:])
        }
    }
}
