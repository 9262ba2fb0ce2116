import Foundation

/// What a page says, before it is tied to a source and a published time.
struct ParsedPage: Equatable, Sendable {
    var title: String
    var tools: [Tool]
    var takes: [Take]
    var missingTakes: [TakeSlot]
    var layout: PageLayout
    /// A "Published …" line in the page's header, when there is one.
    var published: Date?
}

/// Reads the lines of a comparison page (a text dump, or an HTML page's block structure) in
/// either of the site's two layouts.
///
/// The page is read by its landmarks ("Panel ship", "Decision", "Reviewer scorecard") rather
/// than by fixed line positions, so blank lines, avatar letters and optional labels may come
/// and go without breaking it.
struct ComparisonPageParser {
    /// Forces a layout instead of detecting it from the scorecard's first line.
    var layout: PageLayout?

    static let scorecardHeading = "Reviewer scorecard"
    static let noTakeMarker = "No panel take"
    /// Lines that open the site's footer, where the scorecard ends.
    static let footerMarkers: Set<String> = [
        "Weekly AI Tool Verdicts", "Get the next comparison in your inbox", "Bookmarks",
    ]

    func parse(_ lines: [PageLine], fallbackTitle: String? = nil) throws(LayoutError) -> ParsedPage {
        guard let scorecard = lines.firstIndex(where: { $0.text == Self.scorecardHeading }) else {
            if lines.contains(where: { $0.text == "Panel ship" }) {
                throw LayoutError(
                    line: lines.last?.line, kind: .missingSection,
                    message: "no \"\(Self.scorecardHeading)\" section: the page ends before the panel's takes")
            }
            throw LayoutError(
                line: nil, kind: .notAComparison,
                message:
                    "not a comparison page: found neither tool blocks (\"Panel ship\") nor a \"\(Self.scorecardHeading)\""
            )
        }
        let head = Array(lines[..<scorecard])
        let titleIndex = Self.titleIndex(in: head)
        guard let title = titleIndex.map({ Self.title(from: head[$0].text) }) ?? fallbackTitle else {
            throw LayoutError(
                line: head.first?.line, kind: .missingSection,
                message: "no title: expected a line like \"Tool A vs Tool B\" near the top")
        }
        let firstAnchor = head.firstIndex { $0.text == "Panel ship" } ?? head.count
        let published = try Self.publishedLine(in: Array(head[..<firstAnchor]))
        var tools = try Self.toolBlocks(in: head, after: titleIndex ?? -1, scorecardLine: lines[scorecard].line)
        try Self.applyDecisionBlock(in: head, to: &tools)

        let body = Array(lines[(scorecard + 1)...])
        var scorecardLayout: PageLayout
        if let layout {
            scorecardLayout = layout
        } else {
            scorecardLayout = try Self.detectLayout(body, scorecardLine: lines[scorecard].line)
        }
        let takes: [Take]
        var missing: [TakeSlot] = []
        switch scorecardLayout {
        case .labelled:
            (takes, missing) = try Self.labelledTakes(body, tools: tools, scorecardLine: lines[scorecard].line)
        case .quoted:
            let quotes = try Self.quotedTakes(body, scorecardLine: lines[scorecard].line)
            takes = TakeAttribution(tools: tools).attribute(quotes)
        }
        return ParsedPage(
            title: title, tools: tools, takes: takes, missingTakes: missing, layout: scorecardLayout,
            published: published)
    }

    // MARK: Header

    private static func titleIndex(in head: [PageLine]) -> Int? {
        if let marker = head.firstIndex(where: { $0.text == "AI tool comparison" }), marker + 1 < head.count {
            return marker + 1
        }
        return head.firstIndex { $0.text.contains(" vs ") }
    }

    private static func title(from line: String) -> String {
        // Breadcrumb form: "Compare/A vs B".
        if line.hasPrefix("Compare/") { return String(line.dropFirst("Compare/".count)) }
        return line
    }

    private static func publishedLine(in head: [PageLine]) throws(LayoutError) -> Date? {
        // "Published 2026-11-17" or "Published: …" in the page's header; a tagline that merely
        // starts with the word is not it.
        guard
            let line = head.first(where: {
                $0.text.hasPrefix("Published ") || $0.text.hasPrefix("Published:")
            }), line.text.split(separator: " ").count <= 5
        else { return nil }
        var value = line.text.dropFirst("Published".count)
        if value.first == ":" { value = value.dropFirst() }
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard let date = PublishedDate.parse(trimmed) else {
            throw LayoutError(
                line: line.line, kind: .malformed,
                message: "\"\(line.text)\" does not hold a date (expected e.g. \"Published 2026-11-17\")")
        }
        return date
    }

    /// Each tool block is anchored on its "Panel ship" label: the percentage stands just above
    /// it, then (going up) an optional Ship/Skip label, the tagline, the name and the category;
    /// below it come the community figure, the entry tier and the description.
    private static func toolBlocks(
        in head: [PageLine], after titleIndex: Int, scorecardLine: Int
    ) throws(LayoutError) -> [Tool] {
        let anchors = head.indices.filter { head[$0].text == "Panel ship" }
        guard anchors.count == 2 else {
            let at = anchors.map { String(head[$0].line) }.joined(separator: ", ")
            throw LayoutError(
                line: anchors.first.map { head[$0].line } ?? scorecardLine, kind: .wrongToolCount,
                message: anchors.isEmpty
                    ? "no tool blocks (\"Panel ship\") before the scorecard; a comparison has two tools"
                    : "found \(anchors.count) tool block(s) (\"Panel ship\" at line \(at)); a comparison has two tools")
        }
        struct Block {
            var start: Int
            var tool: Tool
            var descriptionStart: Int
        }
        var blocks: [Block] = []
        for (number, anchor) in anchors.enumerated() {
            let lowerBound = number == 0 ? titleIndex + 1 : anchors[number - 1] + 1
            guard anchor - 1 >= lowerBound else {
                throw LayoutError(
                    line: head[anchor].line, kind: .missingSection,
                    message: "tool \(number + 1): \"Panel ship\" has no percentage, name or tagline above it")
            }
            let percentLine = head[anchor - 1]
            guard let percent = percentValue(percentLine.text) else {
                throw LayoutError(
                    line: percentLine.line, kind: .malformed,
                    message:
                        "tool \(number + 1): expected the panel ship percentage (like \"75%\") above \"Panel ship\", found \"\(percentLine.text)\""
                )
            }
            var cursor = anchor - 2
            var label: Verdict?
            if cursor >= lowerBound, let verdict = Verdict(label: head[cursor].text) {
                label = verdict
                cursor -= 1
            }
            guard cursor - 2 >= lowerBound else {
                throw LayoutError(
                    line: percentLine.line, kind: .missingSection,
                    message:
                        "tool \(number + 1): expected a category, a name and a tagline above its panel ship percentage")
            }
            var start = cursor - 2
            if start - 1 >= lowerBound, head[start - 1].text.count == 1 { start -= 1 }  // avatar letter
            // Below the anchor: community figure lines, "Community", entry tier, "Entry".
            var below = anchor + 1
            while below < head.count, below <= anchor + 3, head[below].text != "Community" { below += 1 }
            var entry: String?
            if below < head.count, head[below].text == "Community" {
                below += 1
                if below + 1 < head.count, head[below + 1].text == "Entry" {
                    entry = head[below].text
                    below += 2
                }
            } else {
                below = anchor + 1
            }
            let tool = Tool(
                name: head[cursor - 1].text, tagline: head[cursor].text, category: head[cursor - 2].text,
                description: "", panelShipPercent: percent, panelVerdict: label, shipVotes: nil, skipVotes: nil,
                pricing: nil, entry: entry)
            blocks.append(Block(start: start, tool: tool, descriptionStart: below))
        }
        let headEnd = head.firstIndex(where: { $0.text == "Decision" && $0.line > head[anchors[1]].line }) ?? head.count
        var tools: [Tool] = []
        for (number, block) in blocks.enumerated() {
            let end = number + 1 < blocks.count ? blocks[number + 1].start : headEnd
            let paragraphs = block.descriptionStart < end ? head[block.descriptionStart..<end].map(\.text) : []
            guard !paragraphs.isEmpty else {
                throw LayoutError(
                    line: head[min(block.descriptionStart, head.count - 1)].line, kind: .missingSection,
                    message: "tool \(number + 1) (\(block.tool.name)) has no description")
            }
            var tool = block.tool
            tool.description = paragraphs.joined(separator: "\n\n")
            tools.append(tool)
        }
        return tools
    }

    private static func percentValue(_ text: String) -> Int? {
        guard text.hasSuffix("%"), let value = Int(text.dropLast()), (0...100).contains(value) else { return nil }
        return value
    }

    /// The labelled layout's Decision block: a heading, then one value per tool.
    private static func applyDecisionBlock(in head: [PageLine], to tools: inout [Tool]) throws(LayoutError) {
        guard let decision = head.lastIndex(where: { $0.text == "Decision" }) else { return }
        var index = decision + 1
        guard index + 1 < head.count else {
            throw LayoutError(line: head[decision].line, kind: .truncated, message: "the Decision block is cut short")
        }
        for (position, tool) in tools.enumerated() where head[index + position].text != tool.name {
            throw LayoutError(
                line: head[index + position].line, kind: .malformed,
                message:
                    "the Decision block names \"\(head[index + position].text)\" where tool \(position + 1) is \"\(tool.name)\""
            )
        }
        index += 2
        while index < head.count {
            let heading = head[index]
            guard index + 2 < head.count else {
                throw LayoutError(
                    line: heading.line, kind: .truncated,
                    message: "the Decision block's \"\(heading.text)\" row has fewer than two values")
            }
            let values = [head[index + 1], head[index + 2]]
            switch heading.text {
            case "Panel verdict":
                for (position, value) in values.enumerated() {
                    guard let (label, ship, skip) = panelVotes(value.text) else {
                        throw LayoutError(
                            line: value.line, kind: .malformed,
                            message: "expected a panel verdict like \"Ship · 3 ship / 1 skip\", found \"\(value.text)\""
                        )
                    }
                    tools[position].panelVerdict = label
                    tools[position].shipVotes = ship
                    tools[position].skipVotes = skip
                }
            case "Pricing":
                for (position, value) in values.enumerated() { tools[position].pricing = value.text }
            case "Category":
                for (position, value) in values.enumerated() where tools[position].category == nil {
                    tools[position].category = value.text
                }
            default:
                break  // "Community", "Best for" and rows the site may add later carry nothing we store.
            }
            index += 3
        }
    }

    private static func panelVotes(_ text: String) -> (Verdict, Int, Int)? {
        let parts = text.split(separator: "·").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let label = Verdict(label: parts[0]) else { return nil }
        let counts = parts[1].split(separator: "/").map { $0.split(separator: " ") }
        guard counts.count == 2, counts[0].count == 2, counts[1].count == 2,
            counts[0][1] == "ship", counts[1][1] == "skip",
            let ship = Int(counts[0][0]), let skip = Int(counts[1][0])
        else { return nil }
        return (label, ship, skip)
    }

    // MARK: Scorecard

    private static func detectLayout(_ body: [PageLine], scorecardLine: Int) throws(LayoutError) -> PageLayout {
        guard let first = body.first, !footerMarkers.contains(first.text) else {
            throw LayoutError(
                line: scorecardLine, kind: .missingSection, message: "the reviewer scorecard holds no takes")
        }
        if first.text.hasPrefix("“") || first.text.hasPrefix("\"") { return .quoted }
        if ReviewerRole(rawValue: first.text) != nil || first.text == noTakeMarker || scoreLine(first.text) != nil {
            return .labelled
        }
        throw LayoutError(
            line: first.line, kind: .malformed,
            message:
                "the scorecard starts with \"\(first.text.prefix(60))\": expected a reviewer heading (Builder, …) or a “quoted” take"
        )
    }

    /// "85/100 · ship" → (85, .ship)
    static func scoreLine(_ text: String) -> (Int, Verdict)? {
        let parts = text.split(separator: "·").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, parts[0].hasSuffix("/100"), let score = Int(parts[0].dropLast(4)),
            let verdict = Verdict(label: parts[1])
        else { return nil }
        return (score, verdict)
    }

    /// Role headings each open two slots, one per tool in page order; a slot is either
    /// "No panel take" or a score line followed by the take's paragraphs.
    private static func labelledTakes(
        _ body: [PageLine], tools: [Tool], scorecardLine: Int
    ) throws(LayoutError) -> ([Take], [TakeSlot]) {
        var takes: [Take] = []
        var missing: [TakeSlot] = []
        var role: ReviewerRole?
        var slot = 0
        var seenRoles: [ReviewerRole] = []
        var reachedFooter = false
        var lastLine = scorecardLine

        func openSlot(at line: PageLine) throws(LayoutError) -> Int {
            guard let role else {
                throw LayoutError(
                    line: line.line, kind: .malformed,
                    message: "\"\(line.text.prefix(40))\" comes before any reviewer heading (Builder, Skeptic, …)")
            }
            guard slot < tools.count else {
                throw LayoutError(
                    line: line.line, kind: .malformed,
                    message: "\(role.rawValue) has more than \(tools.count) takes; expected one per tool")
            }
            slot += 1
            return slot - 1
        }

        for line in body {
            if footerMarkers.contains(line.text) {
                reachedFooter = true
                break
            }
            lastLine = line.line
            if let heading = ReviewerRole(rawValue: line.text) {
                if let role, slot < tools.count {
                    throw LayoutError(
                        line: line.line, kind: .malformed,
                        message:
                            "\(role.rawValue) has \(slot) of \(tools.count) slots before the \(heading.rawValue) heading; each tool needs a take or \"\(noTakeMarker)\""
                    )
                }
                if seenRoles.contains(heading) {
                    throw LayoutError(
                        line: line.line, kind: .malformed, message: "a second \(heading.rawValue) heading")
                }
                seenRoles.append(heading)
                role = heading
                slot = 0
            } else if line.text == noTakeMarker {
                let position = try openSlot(at: line)
                missing.append(TakeSlot(tool: tools[position].name, role: role!))
            } else if let (score, verdict) = scoreLine(line.text) {
                let position = try openSlot(at: line)
                guard (0...100).contains(score) else {
                    throw LayoutError(
                        line: line.line, kind: .malformed, message: "score \(score)/100 is out of range 0–100")
                }
                takes.append(
                    Take(
                        tool: tools[position].name, role: role!, score: score, verdict: verdict, text: "",
                        roleInferred: false, toolInferred: false, line: line.line))
            } else {
                guard let last = takes.indices.last, takes[last].role == role,
                    takes[last].tool == tools[slot - 1].name
                else {
                    throw LayoutError(
                        line: line.line, kind: .malformed,
                        message:
                            "text \"\(line.text.prefix(40))…\" outside a take: expected a score line like \"85/100 · ship\" above it"
                    )
                }
                takes[last].text += (takes[last].text.isEmpty ? "" : "\n\n") + line.text
            }
        }
        let filled = takes.count + missing.count
        let expected = ReviewerRole.allCases.count * tools.count
        if filled < expected || (role != nil && slot < tools.count) {
            throw LayoutError(
                line: lastLine, kind: .truncated,
                message:
                    "the scorecard ends after \(filled) of \(expected) panel slots (\(seenRoles.map(\.rawValue).joined(separator: ", "))): the page looks truncated"
            )
        }
        if let empty = takes.first(where: { $0.text.isEmpty }) {
            throw LayoutError(
                line: empty.line, kind: .truncated,
                message: "the \(empty.role.rawValue) take on \(empty.tool) has no text")
        }
        if !reachedFooter, let last = takes.last, !endsLikeSentence(last.text) {
            throw LayoutError(
                line: lastLine, kind: .truncated,
                message: "the last take stops mid-sentence and the page has no footer: the page looks truncated")
        }
        return (takes, missing)
    }

    /// A quoted take opens with “ and runs, possibly over several lines, to the closing ”.
    private static func quotedTakes(_ body: [PageLine], scorecardLine: Int) throws(LayoutError) -> [QuotedTake] {
        var quotes: [QuotedTake] = []
        var open: QuotedTake?
        for line in body {
            if var current = open {
                current.text += "\n\n" + line.text
                if closesQuote(line.text) {
                    quotes.append(current.unquoted())
                    open = nil
                } else {
                    open = current
                }
                continue
            }
            if footerMarkers.contains(line.text) { break }
            guard line.text.hasPrefix("“") || line.text.hasPrefix("\"") else {
                throw LayoutError(
                    line: line.line, kind: .malformed,
                    message: "expected a “quoted” take, found \"\(line.text.prefix(50))\"")
            }
            let quote = QuotedTake(text: line.text, line: line.line)
            if line.text.count > 1 && closesQuote(line.text) {
                quotes.append(quote.unquoted())
            } else {
                open = quote
            }
        }
        if let open {
            throw LayoutError(
                line: open.line, kind: .truncated,
                message: "the take quoted at this line never closes: the page looks truncated")
        }
        guard !quotes.isEmpty else {
            throw LayoutError(
                line: scorecardLine, kind: .missingSection, message: "the reviewer scorecard holds no takes")
        }
        return quotes
    }

    private static func closesQuote(_ text: String) -> Bool {
        text.hasSuffix("”") || text.hasSuffix("\"")
    }

    private static func endsLikeSentence(_ text: String) -> Bool {
        guard let last = text.last else { return false }
        return ".!?…”\")'’".contains(last)
    }
}

/// A take as the quoted layout gives it: text only, role and tool still to be inferred.
struct QuotedTake: Equatable, Sendable {
    var text: String
    var line: Int

    func unquoted() -> QuotedTake {
        var inner = Substring(text)
        if inner.first == "“" || inner.first == "\"" { inner = inner.dropFirst() }
        if inner.last == "”" || inner.last == "\"" { inner = inner.dropLast() }
        return QuotedTake(text: inner.trimmingCharacters(in: .whitespaces), line: line)
    }
}

extension Verdict {
    /// "Ship", "ship", "SKIP" → a verdict; anything else → nil.
    init?(label: String) {
        self.init(rawValue: label.lowercased())
    }
}
