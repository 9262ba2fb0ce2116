import Foundation

/// An HTML comparison page read the way a text dump reads the rendered page: every block
/// element starts a new line, inline elements run together, white space collapses, and
/// nothing in `<head>`, scripts or styles counts. So an HTML page and its text dump give the
/// same lines, and one layout parser serves both.
struct HTMLPage {
    var lines: [PageLine]
    var title: String?
    var canonicalURL: String?
    var published: Date?

    static let blockElements: Set<String> = [
        "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "dialog", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hgroup", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
        "tfoot", "th", "thead", "tr", "ul",
    ]
    static let skippedElements: Set<String> = [
        "head", "script", "style", "noscript", "template", "svg", "iframe", "object", "canvas",
    ]

    static func read(_ bytes: [UInt8], url: String?) throws(LayoutError) -> HTMLPage {
        guard let document = LibXMLDocument.html(bytes, url: url), let root = document.root else {
            throw LayoutError(kind: .malformed, message: "libxml2 found no HTML document in the page")
        }
        var collector = LineCollector()
        collector.walk(root)
        collector.flush()

        let head = root.firstElement(named: "head")
        let metas = head?.descendants { $0.name == "meta" } ?? []
        let publishedMeta = metas.first {
            ["article:published_time", "datepublished", "date", "dc.date"]
                .contains(
                    ($0.attribute("property") ?? $0.attribute("name") ?? $0.attribute("itemprop") ?? "").lowercased())
        }
        var published: Date?
        if let publishedMeta, let content = publishedMeta.attribute("content") {
            guard let date = PublishedDate.parse(content) else {
                throw LayoutError(
                    line: publishedMeta.line, kind: .malformed,
                    message: "the published-time meta tag holds \"\(content)\", which is not a date")
            }
            published = date
        } else if let time = root.descendants(where: { $0.name == "time" && $0.attribute("datetime") != nil }).first {
            published = PublishedDate.parse(time.attribute("datetime")!)
        }
        let canonical = head?.descendants { $0.name == "link" && $0.attribute("rel")?.lowercased() == "canonical" }
            .first?.attribute("href")
        let title = head?.firstElement(named: "title").map { PageText.normalizeSpaces($0.text) }
        return HTMLPage(
            lines: collector.lines, title: title?.isEmpty == false ? title : nil, canonicalURL: canonical,
            published: published)
    }

    private struct LineCollector {
        var lines: [PageLine] = []
        var current = ""
        var currentLine: Int?

        mutating func walk(_ node: LibXMLNode) {
            for child in node.children {
                if child.isText {
                    if currentLine == nil, !child.content.allSatisfy(\.isWhitespace) { currentLine = child.line }
                    current += child.content
                } else if child.isElement {
                    let name = child.name
                    if HTMLPage.skippedElements.contains(name) { continue }
                    let isBlock = HTMLPage.blockElements.contains(name)
                    if isBlock { flush() }
                    walk(child)
                    if isBlock { flush() }
                }
            }
        }

        mutating func flush() {
            let text = PageText.normalizeSpaces(current)
            if !text.isEmpty { lines.append(PageLine(text: text, line: currentLine ?? 0)) }
            current = ""
            currentLine = nil
        }
    }
}
