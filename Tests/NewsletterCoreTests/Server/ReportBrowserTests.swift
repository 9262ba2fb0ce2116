import Foundation
import Testing

/// The report, the charts and the draft page in headless Chromium at 1000 and 375 px, nothing
/// overflowing and every chart titled with its table (scripts/report_shots.py), after a real
/// send to the outbox: the real `newsletter` binary serving on loopback. Screenshots go to
/// artefacts/report-shots/ (the ones in docs/ are copies).
@Suite(.serialized, .enabled(if: EndpointMailFiles.browserAvailable, "Chromium or chromedriver is not installed"))
struct ReportBrowserTests {
    let served: ServedDirectory
    var cli: CommandLineTests { served.cli }
    var shots: URL { TestPaths.repository.appendingPathComponent("artefacts/report-shots") }

    init() throws {
        served = try ServedDirectory()
    }

    @Test func theReportAndChartsFitAt1000And375PixelsWithEveryChartTitledAndTabled() async throws {
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

        let server = try served.start(environment: ["NEWSLETTER_EDITOR_TOKEN": "editor-secret"])
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }
        let (status, printed) = try await TestPaths.runPythonScript(
            "scripts/report_shots.py",
            ["http://editor:editor-secret@127.0.0.1:\(served.port)", "2026-W47", shots.path])
        #expect(status == 0, "\(printed)")
        for page in ["report", "charts", "issue"] {
            for width in [1000, 375] {
                #expect(printed.contains("page=\(page) width=\(width)"), "\(page) at \(width): \(printed)")
            }
        }
        #expect(!printed.contains("overflow=yes"), "\(printed)")
        #expect(printed.contains("page=charts width=375 charts=6 complete=6"), "\(printed)")
    }
}
