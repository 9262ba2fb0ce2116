import Foundation

/// What a summary may draw on: the comparison's takes, names and panel figures, and the
/// instructions it must not echo.
public struct GuardSource: Sendable {
    public struct Panel: Sendable, Equatable {
        public var tool: String
        public var ship: Int?
        public var skip: Int?
        public var shipPercent: Int?

        /// True when every counted reviewer said ship (or skip).
        var unanimousShip: Bool? {
            if let ship, let skip { return ship + skip > 0 ? skip == 0 : nil }
            return shipPercent.map { $0 == 100 }
        }
        var unanimousSkip: Bool? {
            if let ship, let skip { return ship + skip > 0 ? ship == 0 : nil }
            return shipPercent.map { $0 == 0 }
        }
        var majority: Verdict? {
            if let ship, let skip, ship != skip { return ship > skip ? .ship : .skip }
            if let shipPercent, shipPercent != 50 { return shipPercent > 50 ? .ship : .skip }
            return nil
        }
        var label: String {
            if let ship, let skip { return "\(tool): \(ship) ship / \(skip) skip" }
            if let shipPercent { return "\(tool): \(shipPercent)% ship" }
            return "\(tool): no counts"
        }
    }

    /// Everything the summary may quote from, as one text.
    public var text: String
    public var toolNames: [String]
    public var panels: [Panel]
    /// The system and user instructions sent with the takes (not the takes themselves).
    public var instructions: String
    /// Each tool's own material, by name: its tagline, description, pricing, category, the takes on
    /// it and its panel figures. Empty: attribution is not checked.
    public var toolMaterial: [String: String]
    /// What belongs to neither tool alone: the title and the reviewers' roles.
    public var sharedMaterial: String
    /// Each tool's own words apart from the takes, by name: its name, tagline, description,
    /// category and pricing. Empty: the reason check does not run.
    public var profiles: [String: String] = [:]
    /// Each tool's takes, by name, each with its reviewer's role. Empty: the checks that align a
    /// claim with its take do not run.
    public var takes: [String: [TakeText]] = [:]
    /// Each reviewer's verdict on each tool, where the page gives it: tool name → role → verdict.
    public var verdicts: [String: [String: Verdict]] = [:]

    /// One reviewer's take on a tool.
    public struct TakeText: Sendable, Equatable {
        public var role: String
        public var text: String
    }

    public init(
        text: String, toolNames: [String], panels: [Panel], instructions: String, toolMaterial: [String: String] = [:],
        sharedMaterial: String = ""
    ) {
        self.text = text
        self.toolNames = toolNames
        self.panels = panels
        self.instructions = instructions
        self.toolMaterial = toolMaterial
        self.sharedMaterial = sharedMaterial
    }

    /// The takes, title, tool names, roles and panel figures of a comparison.
    public init(_ comparison: Comparison, instructions: String) {
        let panels = comparison.tools.map { tool -> Panel in
            let takes = comparison.takes.filter { $0.tool == tool.name }
            let counted = takes.contains { $0.verdict != nil }
            return Panel(
                tool: tool.name,
                ship: tool.shipVotes ?? (counted ? takes.filter { $0.verdict == .ship }.count : nil),
                skip: tool.skipVotes ?? (counted ? takes.filter { $0.verdict == .skip }.count : nil),
                shipPercent: tool.panelShipPercent)
        }
        // The counts are the whole panel's; but a take that addresses a model is nothing a summary
        // may quote: its "SYSTEM:" stays a leak, its words are no ground.
        let comparison = TakeScreening.screened(comparison)
        var parts = [comparison.title] + comparison.tools.map(\.name) + ReviewerRole.allCases.map(\.rawValue)
        // What the page says of each tool is a fact a summary may use as much as the takes (the
        // model is shown the tagline): "Docs that rewrite themselves" supports "rewrites".
        parts += comparison.tools.flatMap { [$0.tagline, $0.description, $0.category, $0.pricing].compactMap { $0 } }
        parts += comparison.takes.map(\.text)
        for panel in panels {
            parts += [panel.ship, panel.skip, panel.shipPercent, panel.shipPercent.map { 100 - $0 }]
                .compactMap { $0.map(String.init) }
            if let ship = panel.ship, let skip = panel.skip { parts.append(String(ship + skip)) }
        }
        parts += comparison.takes.compactMap { $0.score.map(String.init) }
        var material: [String: String] = [:]
        for (tool, panel) in zip(comparison.tools, panels) {
            var own = [tool.name, tool.tagline, tool.description, tool.category, tool.pricing, tool.entry]
                .compactMap { $0 }
            for take in comparison.takes where take.tool == tool.name {
                own.append(take.text)
                if let score = take.score { own.append(String(score)) }
            }
            own += [panel.ship, panel.skip, panel.shipPercent, panel.shipPercent.map { 100 - $0 }]
                .compactMap { $0.map(String.init) }
            if let ship = panel.ship, let skip = panel.skip { own.append(String(ship + skip)) }
            material[tool.name] = own.joined(separator: "\n")
        }
        self.init(
            text: parts.joined(separator: "\n"), toolNames: comparison.tools.map(\.name), panels: panels,
            instructions: instructions, toolMaterial: material,
            sharedMaterial: ([comparison.title] + ReviewerRole.allCases.map(\.rawValue)).joined(separator: "\n"))
        for tool in comparison.tools {
            profiles[tool.name] = [tool.name, tool.tagline, tool.description, tool.category, tool.pricing]
                .compactMap { $0 }.joined(separator: "\n")
            takes[tool.name] = comparison.takes.filter { $0.tool == tool.name }
                .map { TakeText(role: $0.role.rawValue, text: $0.text) }
            for take in comparison.takes where take.tool == tool.name {
                if let verdict = take.verdict { verdicts[tool.name, default: [:]][take.role.rawValue] = verdict }
            }
        }
    }

    /// A source with nothing in it, for the checks that look at the text alone.
    static let empty = GuardSource(text: "", toolNames: [], panels: [], instructions: "")
}
