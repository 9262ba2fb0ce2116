import Foundation
import NewsletterCore
import Testing

/// An HTML page is read through its block structure and must give the same record as its text dump.
struct HTMLPageTests {
    let reader = ComparisonPageReader()

    static let pairs = [
        ("Tests/NewsletterCoreTests/Fixtures/labelled-basic", "labelled"),
        ("examples/inkwell-vs-tallyhoist", "labelled"),
        ("examples/lanternfish-vs-quillmark", "quoted"),
    ]

    @Test(arguments: pairs)
    func htmlParsesToTheSameRecordAsItsTextDump(base: String, layout: String) throws {
        let root = TestPaths.repository
        let text = try reader.read(try TestPaths.bytes(root.appendingPathComponent(base + ".txt")), source: "t")
        let html = try reader.read(try TestPaths.bytes(root.appendingPathComponent(base + ".html")), source: "h")
        #expect(html.markup == .html && text.markup == .text)
        #expect(html.layout.rawValue == layout && text.layout.rawValue == layout)
        #expect(html.title == text.title)
        #expect(html.tools == text.tools)
        #expect(html.missingTakes == text.missingTakes)
        #expect(html.takes.count == text.takes.count)
        for (fromHTML, fromText) in zip(html.takes, text.takes) {
            var withoutLine = fromHTML
            withoutLine.line = fromText.line
            #expect(withoutLine == fromText)
        }
        #expect(html.recordHash == text.recordHash)
        #expect(html.contentHash != text.contentHash)
    }

    @Test func canonicalLinkAndPublishedMetaAreRead() throws {
        let html = try reader.read(
            try TestPaths.bytes(TestPaths.examples.appendingPathComponent("inkwell-vs-tallyhoist.html")), source: "h")
        #expect(html.url == "https://shiporskip.example/compare/inkwell-vs-tallyhoist")
        #expect(html.published == PublishedDate.parse("2026-11-17T09:00:00Z"))
        #expect(html.publishedFrom == .page)
    }

    @Test func scriptsStylesAndHeadAreNotText() throws {
        let page = """
            <!doctype html><html><head><title>T</title><style>p { color: red }</style>
            <script>document.write("Panel ship")</script></head><body>
            <p>AI tool comparison</p><h1>Alpha &amp; Co vs Beta</h1>
            <script>var x = "“injected quote”";</script>
            \(Self.toolBlock(name: "Alpha &amp; Co"))\(Self.toolBlock(name: "Beta"))
            <h2>Reviewer scorecard</h2>
            <blockquote><p>&#8220;The primitive is a <em>tiny</em> API for Alpha &amp; Co users.&#8221;</p></blockquote>
            <noscript><p>Enable JavaScript</p></noscript>
            <p>Weekly AI Tool Verdicts</p></body></html>
            """
        let comparison = try reader.read(Array(page.utf8), source: "inline.html")
        #expect(comparison.title == "Alpha & Co vs Beta")
        #expect(comparison.tools.map(\.name) == ["Alpha & Co", "Beta"])
        #expect(comparison.takes.map(\.text) == ["The primitive is a tiny API for Alpha & Co users."])
        #expect(comparison.takes.first?.tool == "Alpha & Co")
        #expect(comparison.takes.first?.role == .builder)
    }

    static func toolBlock(name: String) -> String {
        """
        <section><div>Developer Tools</div><h3>\(name)</h3><p>A <strong>tagline</strong> for it</p>
        <div><span>80</span>%</div><div>Panel ship</div><div>—</div><div>Community</div><div>Free</div>
        <div>Entry</div><p>A description of \(name), in <a href="/x">two</a> inline parts.</p></section>
        """
    }
}
