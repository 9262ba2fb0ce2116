import Foundation
import Logging
import NewsletterCore

/// A week sent with VERP through Postfix's smtp-sink to reader0…reader<n-1>@example.org, and
/// the bounce corpus filled in from what the sink received (each copy's envelope sender and
/// Message-ID), as a receiver would have returned it.
struct BounceScenario {
    let directory: URL
    let store: AppDatabase
    let week = try! IssueWeek(parsing: "2026-W47")
    /// Subscriber index → (VERP envelope sender, Message-ID) of the copy the sink received.
    let copies: [Int: (verp: String, messageID: String)]
    let subscriberCount: Int
    /// After the send: the injected time bounces are recorded at.
    let now: Date

    static let bounceAddress = "bounces@shiporskip.example"
    static var verp: VERPAddress { VERPAddress(base: try! MailAddress(bounceAddress)) }

    init(subscribers: Int = 10, bounceAfter: Int = 3) async throws {
        subscriberCount = subscribers
        directory = try TestPaths.temporaryDirectory()
        store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
        try await store.saveDraft(
            IssueDraft(
                week: week, subject: "Ship or Skip", html: "<p>%%GREETING%%</p><a href=\"%%UNSUBSCRIBE_URL%%\">u</a>",
                text: "%%GREETING%%\n%%UNSUBSCRIBE_URL%%\n", manifest: "{}", comparisonIDs: [], hash: "h1"))
        try await store.approve(week, hash: "h1", at: Date())
        for index in 0..<subscribers {
            _ = try await store.addSubscriber(email: "reader\(index)@example.org", name: nil, status: .confirmed)
        }
        var settings = DeliverySettings(
            from: try MailAddress("digest@shiporskip.example"), listID: "weekly.shiporskip.example",
            publicURL: "https://news.example.org")
        settings.verp = Self.verp
        settings.bounceAfter = bounceAfter
        settings.concurrency = 2
        let sink = try SMTPSink()
        _ = try await Mailer(store: store, settings: settings, logger: Logger(label: "tests")).send(
            week, through: SMTPTransport(settings: SMTPTransport.Settings(url: sink.url, allowPlaintext: true)))
        var copies: [Int: (String, String)] = [:]
        for dump in try sink.messages() {
            let lines = dump.split(whereSeparator: \.isNewline)
            func field(_ name: String) -> String? {
                lines.first { $0.lowercased().hasPrefix(name.lowercased() + ":") }.map {
                    $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
                }
            }
            guard let rcpt = field("X-Rcpt-Args"), let mail = field("X-Mail-Args"), let id = field("Message-ID"),
                let number = rcpt.split(separator: "@").first.flatMap({ Int($0.drop { !$0.isNumber }) })
            else { continue }
            let sender = (mail.replacingOccurrences(of: "FROM:", with: "").split(separator: " ").first ?? "")
                .trimmingCharacters(in: CharacterSet(charactersIn: "<>"))
            copies[number] = (sender, id.trimmingCharacters(in: CharacterSet(charactersIn: "<>")))
        }
        self.copies = copies
        now = Date().addingTimeInterval(3600)
    }

    func processor(bounceAfter: Int = 3) -> BounceProcessor<AppDatabase> {
        BounceProcessor(
            store: store, verp: Self.verp, rule: BounceRule(softBounceLimit: bounceAfter), time: ManualTime(now))
    }

    /// A template with `{{VERP:n}}`, `{{MESSAGE_ID:n}}`, `{{EMAIL:n}}` filled in.
    func fill(_ template: String) -> String {
        var text = template
        for (index, copy) in copies {
            text = text.replacingOccurrences(of: "{{VERP:\(index)}}", with: copy.verp)
            text = text.replacingOccurrences(of: "{{MESSAGE_ID:\(index)}}", with: copy.messageID)
        }
        for index in 0..<subscriberCount {
            text = text.replacingOccurrences(of: "{{EMAIL:\(index)}}", with: "reader\(index)@example.org")
        }
        return text
    }

    struct Expectation {
        var file: String
        /// A kind's raw value, or "refused: <words>".
        var outcome: String
        var subscriber: Int?
        var state: Subscriber.Status?
    }

    static func expectations() throws -> [Expectation] {
        let text = try String(contentsOf: TestPaths.fixture("bounces/expected.tsv"), encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("#") }.map { line in
            let cells = line.split(separator: "\t").map(String.init)
            return Expectation(
                file: cells[0], outcome: cells[1], subscriber: Int(cells[2]),
                state: Subscriber.Status(rawValue: cells[3]))
        }
    }

    /// The corpus, filled in, written to files under the scenario's directory (CRLF line ends,
    /// as mail is stored).
    func corpusFiles() throws -> [(expectation: Expectation, path: String)] {
        let out = directory.appendingPathComponent("corpus")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        return try Self.expectations().map { expectation in
            let template = try String(contentsOf: TestPaths.fixture("bounces/\(expectation.file)"), encoding: .utf8)
            let filled = fill(template).replacingOccurrences(of: "\r\n", with: "\n")
                .replacingOccurrences(of: "\n", with: "\r\n")
            let path = out.appendingPathComponent(expectation.file).path
            try Data(filled.utf8).write(to: URL(fileURLWithPath: path))
            return (expectation, path)
        }
    }

    /// A DSN for `subscriber` whose returned original is `megabytes` MB of base64.
    func largeBounce(subscriber: Int, megabytes: Int) -> [UInt8] {
        let copy = copies[subscriber]!
        var text = """
            To: \(copy.verp)\r
            From: MAILER-DAEMON@big.example.org\r
            Subject: Undelivered Mail Returned to Sender\r
            Message-ID: <large-\(subscriber)@big.example.org>\r
            MIME-Version: 1.0\r
            Content-Type: multipart/report; report-type=delivery-status; boundary="BIG"\r
            \r
            --BIG\r
            Content-Type: message/delivery-status\r
            \r
            Reporting-MTA: dns; big.example.org\r
            \r
            Final-Recipient: rfc822; reader\(subscriber)@example.org\r
            Action: failed\r
            Status: 5.1.1\r
            \r
            --BIG\r
            Content-Type: message/rfc822\r
            \r
            Message-ID: <\(copy.messageID)>\r
            Content-Type: application/octet-stream\r
            Content-Transfer-Encoding: base64\r
            \r

            """
        let line = String(repeating: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", count: 2) + "\r\n"
        text += String(repeating: line, count: megabytes * 1_048_576 / line.utf8.count)
        text += "--BIG--\r\n"
        return Array(text.utf8)
    }

    func status(_ index: Int) async throws -> Subscriber.Status? {
        try await store.subscriber(email: "reader\(index)@example.org")?.status
    }
}
