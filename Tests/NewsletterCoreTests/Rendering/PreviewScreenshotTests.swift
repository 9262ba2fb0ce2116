import Foundation
import Testing

@testable import NewsletterCore

private let browserAvailable =
    FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")

/// Looks at the rendered issue in a real browser: headless Chromium at 600 px and 375 px, where
/// nothing may overflow horizontally. Runs wherever Chromium is installed (`.ci/run` installs
/// it); the screenshots are kept under artefacts/preview-shots/.
@Suite(.enabled(if: browserAvailable, "Chromium or chromedriver is not installed"))
struct PreviewScreenshotTests {
    @Test func aSixComparisonIssueFitsAt600And375Pixels() async throws {
        let directory = try TestPaths.temporaryDirectory()
        let store = try AppDatabase.open(path: directory.appendingPathComponent("newsletter.sqlite").path)
        var pages: [Comparison] = []
        for (index, name) in ["labelled-basic.txt", "quoted-basic.txt", "quoted-hard.txt"].enumerated() {
            var comparison = try ComparisonPageReader(publishedFallback: PublishedDate.parse("2026-11-1\(6 + index)"))
                .read(try TestPaths.bytes(TestPaths.fixture(name)), source: "/pages/\(name)")
            comparison.url = "https://shiporskip.example/compare/\(name.replacingOccurrences(of: ".txt", with: ""))"
            pages.append(comparison)
        }
        for index in 0..<3 {
            var comparison = try StoreFixtures.comparison(
                "Averyveryveryverylongtoolnamewithoutanybreaks\(index) vs Short",
                published: "2026-11-2\(index)T10:00:00Z",
                shipPercents: [40 + index * 20, 90])
            comparison.url =
                "https://shiporskip.example/compare/an-extremely-long-slug-that-keeps-going-and-going-\(index)?utm_source=newsletter"
            pages.append(comparison)
        }
        try await StoreFixtures.store(pages, in: store)
        var settings = IssueSettings()
        settings.timeZone = TimeZone(identifier: "UTC")!
        let result = try await IssuePreview(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: settings, outboxDirectory: directory.appendingPathComponent("outbox").path
        ).preview(try IssueWeek(parsing: "2026-W47"))
        #expect(result.items.count == 6)

        let shots = TestPaths.repository.appendingPathComponent("artefacts/preview-shots")
        let (status, printed) = try await TestPaths.runPythonScript(
            "scripts/preview_shots.py", [result.files[0], shots.path])
        #expect(status == 0, "\(printed)")
        #expect(printed.contains("width=600") && printed.contains("width=375"))
        #expect(!printed.contains("overflow=yes"))
        for width in [600, 375] {
            #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent("preview-\(width).png").path))
        }
    }
}
