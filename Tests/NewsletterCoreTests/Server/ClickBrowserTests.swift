import Foundation
import Testing

@testable import NewsletterCore

/// A week sent through a real smtp-sink, a link of the received message clicked in headless
/// Chromium, the redirect landing on the target (a local page), and the click counted in the
/// store once `serve` stops cleanly, in `report --json` and on the editor's report page.
@Suite(
    .serialized,
    .enabled(if: EndpointMailFiles.browserAvailable, "Chromium or chromedriver is not installed"),
    .enabled(if: SMTPSink.available, "smtp-sink (Debian postfix) is not installed"))
struct ClickBrowserTests {
    @Test func aReaderClicksALinkInTheReceivedIssueLandsOnItsTargetAndTheCountMoves() async throws {
        let sink = try SMTPSink()
        let served = try ServedDirectory()
        let cli = served.cli
        // The target: a page on loopback (Chromium resolves nothing else), as the list's site.
        let site = try TestPaths.temporaryDirectory()
        try "<html><body><h1>Landed on the list's site</h1></body></html>".write(
            to: site.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        let sitePort = try SMTPSink.freePort()
        let target = Process()
        target.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        target.arguments = [
            "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", site.path, "\(sitePort)",
        ]
        target.standardOutput = FileHandle.nullDevice
        target.standardError = FileHandle.nullDevice
        try target.run()
        defer {
            kill(target.processIdentifier, SIGKILL)
            target.waitUntilExit()
        }
        try SMTPSink.waitForListener(port: sitePort)

        let config = served.directory.appendingPathComponent("newsletter.toml")
        let written = try String(contentsOf: config, encoding: .utf8)
        try
            (written + """

                [list]
                site_url = "http://127.0.0.1:\(sitePort)/"
                [smtp]
                url = "\(sink.url)"
                allow_plaintext = true
                [tracking]
                clicks = "aggregate"
                flush_seconds = 3600
                """).write(to: config, atomically: true, encoding: .utf8)

        #expect(try await cli.run(["ingest", TestPaths.examples.path]).status == 0)
        #expect(try await cli.run(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try await cli.run(["approve", "--week", "2026-W47"]).status == 0)
        #expect(try await cli.run(["subscribers", "add", "reader@example.org"]).status == 0)
        let send = try await cli.run(["send", "--week", "2026-W47"])
        #expect(send.status == 0, "\(send.stderr)")
        let received = try #require(try sink.messages().first)
        let message = served.directory.appendingPathComponent("received.eml")
        try received.write(to: message, atomically: true, encoding: .utf8)

        let server = try served.start()
        let (status, printed) = try await TestPaths.runPythonScript(
            "scripts/click_flow.py",
            [
                message.path, "Website", "Landed on the list's site",
                TestPaths.repository.appendingPathComponent("artefacts/click-shots").path,
            ])
        // A clean stop writes the click: the flush interval (an hour) never came.
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        #expect(status == 0, "\(printed)")
        #expect(printed.contains("step=click ok href=\(served.base)/r/"), "\(printed)")
        #expect(printed.contains("landed=http://127.0.0.1:\(sitePort)/"), "\(printed)")

        let store = try AppDatabase.open(
            path: served.directory.appendingPathComponent("subscribers/newsletter.sqlite").path)
        // The site's link (the list's site_url, as configured without its last "/").
        let links = try await store.linkClicks(try IssueWeek(parsing: "2026-W47"))
        let siteLink = try #require(
            links.first { $0.link.target.hasPrefix("http://127.0.0.1:\(sitePort)") }, "\(links)")
        #expect(siteLink.clicks == 1 && siteLink.scannerClicks == 0, "\(links)")
        #expect(links.filter { $0.link.id != siteLink.link.id }.allSatisfy { $0.clicks == 0 })

        // The publisher's view of the same click: `report --json` counts it on that link.
        let report = try await cli.run(["report", "--week", "2026-W47", "--json"])
        #expect(report.status == 0, "\(report.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let clicks = try #require(object["clicks"] as? [String: Any])
        #expect(clicks["clicks"] as? Int == 1 && clicks["scannerClicks"] as? Int == 0, "\(clicks)")
        let reported = try #require(clicks["links"] as? [[String: Any]])
        #expect(reported.first { $0["id"] as? String == siteLink.link.id }?["clicks"] as? Int == 1, "\(reported)")

        // And the editor's report page: that link's row says one person's click, no scanner's.
        let again = try served.start(environment: ["NEWSLETTER_EDITOR_TOKEN": "editor-secret"])
        defer {
            kill(again.processIdentifier, SIGKILL)
            again.waitUntilExit()
        }
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sS", "-u", "editor:editor-secret", "\(served.base)/editor/issues/2026-W47/report"]
        let page = Pipe()
        curl.standardOutput = page
        try curl.run()
        let html = String(decoding: page.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        curl.waitUntilExit()
        let row = try Regex(
            "<td>http://127\\.0\\.0\\.1:\(sitePort)/?</td><td class=\"variant\"><code>[^<]*</code></td>"
                + "<td class=\"number\">1</td><td class=\"number\">0</td>")
        #expect(html.contains(row), "\(html)")
    }
}
