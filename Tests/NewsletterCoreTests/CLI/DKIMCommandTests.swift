import Foundation
import Testing

@testable import NewsletterCore

/// `newsletter dkim keygen|check`, `config` with keys, the signed mail `send` delivers as
/// received by smtp-sink, and the https rule for `send` and `run`.
@Suite(.serialized, .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
struct DKIMCommandTests {
    let directory: URL

    init() throws {
        directory = try TestPaths.temporaryDirectory()
    }

    func newsletter(_ arguments: [String]) async throws -> CommandLineTests.Run {
        try await CommandLineTests.run(arguments, in: directory)
    }

    func configure(smtp: String?, dkim: String = "", publicURL: String? = nil) async throws {
        try """
        templates_dir = "\(TestPaths.repository.appendingPathComponent("templates").path)"
        [mail]
        from = "digest@shiporskip.example"
        retries = 0
        \(smtp.map { "[smtp]\nurl = \"\($0)\"\nallow_plaintext = true" } ?? "")
        \(publicURL.map { "[server]\npublic_url = \"\($0)\"" } ?? "")
        [summaries]
        enabled = false
        \(dkim)
        """.write(to: directory.appendingPathComponent("newsletter.toml"), atomically: true, encoding: .utf8)
    }

    /// Both keys made by `dkim keygen` into keys/, and the [dkim] table naming them.
    func makeKeys() async throws -> String {
        let rsa = try await newsletter(["dkim", "keygen", "--selector", "nl1", "--out", "keys"])
        #expect(rsa.status == 0, "\(rsa.stderr)")
        let ed = try await newsletter(["dkim", "keygen", "--selector", "nl1e", "--ed25519", "--out", "keys"])
        #expect(ed.status == 0, "\(ed.stderr)")
        return """
            [dkim]
            domain = "shiporskip.example"
            selector = "nl1"
            private_key = "keys/nl1.private.pem"
            ed25519_selector = "nl1e"
            ed25519_private_key = "keys/nl1e.private.pem"
            """
    }

    /// The records a receiver would find, as `dkim keygen` wrote them to keys/<selector>.txt.
    func publishedRecords() async throws -> [(name: String, value: String)] {
        try ["nl1", "nl1e"].map { selector in
            let zone = try String(
                contentsOf: directory.appendingPathComponent("keys/\(selector).txt"), encoding: .utf8)
            let value = zone.matches(of: /"([^"]*)"/).map { String($0.1) }.joined()
            return ("\(selector)._domainkey.shiporskip.example", value)
        }
    }

    @Test func keygenWritesAPrivateKeyOnlyItsOwnerCanReadAndPrintsTheRecord() async throws {
        try await configure(smtp: nil)
        let run = try await newsletter(["dkim", "keygen", "--selector", "nl1", "--out", "keys"])
        #expect(run.status == 0, "\(run.stderr)")
        var status = stat()
        #expect(stat(directory.appendingPathComponent("keys/nl1.private.pem").path, &status) == 0)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(run.stdout.contains("nl1._domainkey.shiporskip.example. IN TXT ( \"v=DKIM1; k=rsa; p="))
        let strings = run.stdout.matches(of: /"(v=DKIM1[^"]*|[A-Za-z0-9+\/=]+)"/).map { String($0.1) }
        #expect(strings.count >= 2 && strings.allSatisfy { $0.count <= 255 }, "\(strings)")
        // Never over an existing key.
        let again = try await newsletter(["dkim", "keygen", "--selector", "nl1", "--out", "keys"])
        #expect(again.status != 0 && again.stderr.contains("File exists"))
        let ed = try await newsletter(["dkim", "keygen", "--selector", "nl1e", "--ed25519", "--out", "keys"])
        #expect(ed.stdout.contains("\"v=DKIM1; k=ed25519; p="))
    }

    @Test func checkPrintsTheRecordAndVerifiesASignatureMadeNow() async throws {
        try await configure(smtp: nil)
        try await configure(smtp: nil, dkim: try await makeKeys())
        let run = try await newsletter(["dkim", "check"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("TXT nl1._domainkey.shiporskip.example"))
        #expect(run.stdout.contains("TXT nl1e._domainkey.shiporskip.example"))
        #expect(run.stdout.components(separatedBy: "a signature made now: verifies").count == 3)
        #expect(
            run.stdout.contains("DMARC alignment: mail.from's domain shiporskip.example is within d=shiporskip.example")
        )
        // What check prints is what keygen said to publish.
        let printed = run.stdout.filter { !$0.isWhitespace && $0 != "\"" }
        for record in try await publishedRecords() {
            #expect(printed.contains(record.value.filter { !$0.isWhitespace }))
        }
    }

    /// OpenDKIM's own check of a key setup: the record keygen printed matches its private key,
    /// and not another one.
    @Test(.enabled(if: DKIMVerifiers.opendkimAvailable, "opendkim-tools or network namespaces are missing"))
    func opendkimTestkeyAcceptsThePrintedRecordForItsKeyOnly() async throws {
        try await configure(smtp: nil)
        _ = try await makeKeys()
        let records = try await publishedRecords()
        let matching = try DKIMVerifiers.opendkimTestkey(
            domain: "shiporskip.example", selector: "nl1",
            keyFile: directory.appendingPathComponent("keys/nl1.private.pem").path, records: records)
        #expect(matching.passed, "\(matching.output)")
        #expect(try await newsletter(["dkim", "keygen", "--selector", "other", "--out", "keys"]).status == 0)
        let other = try DKIMVerifiers.opendkimTestkey(
            domain: "shiporskip.example", selector: "nl1",
            keyFile: directory.appendingPathComponent("keys/other.private.pem").path, records: records)
        #expect(!other.passed && other.output.contains("keys do not match"), "\(other.output)")
    }

    @Test func configShowsThePathsAndNeverTheKey() async throws {
        try await configure(smtp: nil)
        try await configure(smtp: nil, dkim: try await makeKeys())
        let run = try await newsletter(["config"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout.contains(
                "dkim.private_key:        \(directory.appendingPathComponent("keys/nl1.private.pem").path)"))
        #expect(!run.stdout.contains("PRIVATE KEY"))
        let pem = try String(contentsOf: directory.appendingPathComponent("keys/nl1.private.pem"), encoding: .utf8)
        for line in pem.split(separator: "\n") where !line.hasPrefix("-----") {
            #expect(!run.stdout.contains(line) && !run.stderr.contains(line))
        }
    }

    @Test func aBadKeySettingStopsEveryCommandWithStatus78NamingIt() async throws {
        try await configure(
            smtp: nil, dkim: "[dkim]\ndomain = \"shiporskip.example\"\nselector = \"s\"\nprivate_key = \"missing.pem\"")
        for command in [["send"], ["config"], ["dkim", "check"]] {
            let run = try await newsletter(command)
            #expect(run.status == 78, "\(command)")
            #expect(run.stderr.contains("dkim.private_key") && run.stderr.contains("no such file"), "\(run.stderr)")
        }
        // keygen is how the missing key gets made.
        #expect(try await newsletter(["dkim", "keygen", "--selector", "s", "--out", "."]).status == 0)
        let renamed = rename(
            directory.appendingPathComponent("s.private.pem").path, directory.appendingPathComponent("missing.pem").path
        )
        #expect(renamed == 0)
        #expect(try await newsletter(["dkim", "check"]).status == 0)
    }

    @Test(.enabled(if: DKIMVerifiers.dkimpyAvailable, "dkimpy is not installed (scripts/setup-test-peers.sh)"))
    func sendDeliversMailThatVerifiesAsReceivedAndATestSendToo() async throws {
        let sink = try SMTPSink()
        try await configure(smtp: nil)
        try await configure(smtp: sink.url, dkim: try await makeKeys())
        #expect(try await newsletter(["ingest", TestPaths.examples.path]).status == 0)
        #expect(try await newsletter(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try await newsletter(["approve", "--week", "2026-W47"]).status == 0)
        for index in 0..<2 {
            #expect(try await newsletter(["subscribers", "add", "reader\(index)@example.org"]).status == 0)
        }
        let send = try await newsletter(["send", "--week", "2026-W47"])
        #expect(send.status == 0, "\(send.stderr)")
        let test = try await newsletter(["send", "--week", "2026-W47", "--to", "editor@shiporskip.example"])
        #expect(test.status == 0, "\(test.stderr)")
        let dumps = try FileManager.default.contentsOfDirectory(atPath: sink.dumps.path).sorted()
        #expect(dumps.count == 3)
        let records = try await publishedRecords()
        for dump in dumps {
            let bytes = try TestPaths.bytes(sink.dumps.appendingPathComponent(dump))
            let result = try DKIMVerifiers.dkimpy(bytes, records: records)
            #expect(result.passed, "\(dump): \(result.output)")
            #expect(result.output.contains("rsa-sha256 nl1 pass") && result.output.contains("ed25519-sha256 nl1e pass"))
            if DKIMVerifiers.opendkimAvailable {
                let opendkim = try DKIMVerifiers.opendkim(bytes, records: records)
                #expect(opendkim.passed, "\(dump): \(opendkim.output)")
            }
        }
    }

    @Test func sendAndRunRefuseAnHTTPUnsubscribeLinkPastLoopback() async throws {
        // 192.0.2.0/24 is TEST-NET-1: never routed. Nothing is approved and no source is set,
        // so even without the rule neither command would reach the server.
        try await configure(smtp: "smtp://192.0.2.25:587")
        for command in [["send", "--week", "2026-W47"], ["run", "--week", "2026-W47"]] {
            let run = try await newsletter(command)
            #expect(run.status == 78, "\(command): \(run.stdout) \(run.stderr)")
            #expect(run.stderr.contains("server.public_url") && run.stderr.contains("https"), "\(run.stderr)")
        }
        try await configure(smtp: "smtp://192.0.2.25:587", publicURL: "https://news.shiporskip.example")
        #expect(try await newsletter(["send", "--week", "2026-W47"]).status == 4)  // past the rule: not approved
        // Loopback keeps the default http URL (tests, the demo, a local relay).
        try await configure(smtp: "smtp://127.0.0.1:1")
        #expect(try await newsletter(["send", "--week", "2026-W47"]).status == 4)
        #expect(try await newsletter(["send", "--week", "2026-W47", "--dry-run"]).status == 0)
    }
}
