import Foundation
import Testing

/// The report, the charts and the draft page in headless Chromium at 1000 and 375 px, nothing
/// overflowing and every chart titled with its table (scripts/report_shots.py), after a real
/// send to the outbox and a reader's click on a link of a sent copy, which the page and
/// `report --json` then count: the real `newsletter` binary serving on loopback. Screenshots go
/// to artefacts/report-shots/ (docs/screenshots has the same pages at 100,000 subscribers).
@Suite(.serialized, .enabled(if: EndpointMailFiles.browserAvailable, "Chromium or chromedriver is not installed"))
struct ReportBrowserTests {
    let served: ServedDirectory
    var cli: CommandLineTests { served.cli }
    var shots: URL { TestPaths.repository.appendingPathComponent("artefacts/report-shots") }

    init() throws {
        served = try ServedDirectory()
    }

    @Test func theReportAndChartsFitAt1000And375PixelsAndCountAReadersClick() async throws {
        // Counts written each second, not each minute: the page sees the click soon.
        let config = served.directory.appendingPathComponent("newsletter.toml")
        try (String(contentsOf: config, encoding: .utf8) + "\n[tracking]\nflush_seconds = 1\n").write(
            to: config, atomically: true, encoding: .utf8)
        #expect(try await cli.run(["ingest", TestPaths.examples.path]).status == 0)
        #expect(try await cli.run(["preview", "--week", "2026-W47"]).status == 0)
        #expect(try await cli.run(["approve", "--week", "2026-W47"]).status == 0)
        for index in 0..<12 {
            let name = "A reader with a rather long name, number \(index)"
            #expect(
                try await cli.run(["subscribers", "add", "reader\(index)@example.org", "--name", name]).status == 0)
        }
        let send = try await cli.run(["send", "--week", "2026-W47"])
        #expect(send.status == 0, "\(send.stdout)\(send.stderr)")

        // A tracked link as a reader's copy has it (the plain-text part keeps it on one line).
        let messages = served.directory.appendingPathComponent("outbox/2026-W47/messages")
        let first = try #require(try FileManager.default.contentsOfDirectory(atPath: messages.path).sorted().first)
        let copy = try String(contentsOf: messages.appendingPathComponent(first), encoding: .utf8)
        let link = try #require(
            copy.firstMatch(of: /http:\/\/127\.0\.0\.1:\d+\/r\/[a-z2-7]{12}/).map { String($0.output) })

        let server = try served.start(environment: ["NEWSLETTER_EDITOR_TOKEN": "editor-secret"])
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let (status, printed) = try await TestPaths.runPythonScript(
            "scripts/report_shots.py",
            ["http://editor:editor-secret@127.0.0.1:\(served.port)", "2026-W47", shots.path, link])
        #expect(printed.contains("click counted=yes"), "\(printed)")
        #expect(status == 0, "\(printed)")
        for page in ["report", "charts", "issue"] {
            for width in [1000, 375] {
                #expect(printed.contains("page=\(page) width=\(width)"), "\(page) at \(width): \(printed)")
            }
        }
        #expect(!printed.contains("overflow=yes"), "\(printed)")
        #expect(printed.contains("page=charts width=375 charts=6 complete=6"), "\(printed)")

        // A clean stop writes whatever was counted; the command reads the same count.
        kill(server.processIdentifier, SIGTERM)
        server.waitUntilExit()
        let report = try await cli.run(["report", "--week", "2026-W47", "--json"])
        #expect(report.status == 0, "\(report.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [String: Any])
        let clicks = try #require(object["clicks"] as? [String: Any])
        // The link's target does not resolve here, and Chromium may follow it again on the error
        // page: at least the count the page showed, all of it a person's, all on that link.
        let shown = try #require(
            printed.firstMatch(of: /click counted=yes clicks=(\d+)/).flatMap { Int($0.output.1) })
        let total = try #require(clicks["clicks"] as? Int)
        #expect(shown >= 1 && total >= shown, "\(clicks)")
        #expect(clicks["scannerClicks"] as? Int == 0, "\(clicks)")
        let linkID = String(link.suffix(12))
        let links = try #require(clicks["links"] as? [[String: Any]])
        #expect(links.first { $0["id"] as? String == linkID }?["clicks"] as? Int == total, "\(links)")
    }
}
