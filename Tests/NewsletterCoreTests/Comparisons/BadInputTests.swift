import Foundation
import NewsletterCore
import Testing

/// Every kind of bad page gets an error that names the source, says what is wrong and, where
/// there is one, the line.
struct BadInputTests {
    let reader = ComparisonPageReader()

    func error(reading bytes: [UInt8], source: String = "bad.txt") -> PageError? {
        do {
            _ = try reader.read(bytes, source: source)
            return nil
        } catch {
            return error
        }
    }

    @Test func emptyPage() {
        let error = error(reading: Array(" \n\n \t\n".utf8))
        #expect(error?.kind == .empty)
        #expect(error?.description.hasPrefix("bad.txt: ") == true)
    }

    @Test func binaryJunk() {
        var junk: [UInt8] = Array("line one\nline two\n".utf8)
        junk += (0..<512).map { UInt8(truncatingIfNeeded: $0 &* 73) }
        let error = error(reading: junk)
        #expect(error?.kind == .binary)
        #expect(error?.line == 3)
    }

    @Test func invalidUTF8NamesTheLine() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.utf8) }
        let target = try #require(lines.firstIndex { String(decoding: $0, as: UTF8.self) == "Panel ship" })
        lines[target].insert(contentsOf: [0xC3, 0x28], at: 3)  // a lead byte with no continuation
        let error = error(reading: Array(lines.joined(separator: [0x0A])))
        #expect(error?.kind == .invalidUTF8)
        #expect(error?.line == target + 1)
        // Overlong encodings and surrogates are not UTF-8 either.
        #expect(self.error(reading: Array("ok\n".utf8) + [0xC0, 0xAF])?.kind == .invalidUTF8)
        #expect(self.error(reading: Array("ok\n".utf8) + [0xED, 0xA0, 0x80])?.kind == .invalidUTF8)
    }

    @Test func truncatedPage() throws {
        let error = error(reading: try TestPaths.bytes(TestPaths.fixture("truncated.txt")), source: "truncated.txt")
        #expect(error?.kind == .truncated)
        #expect(error?.line != nil)
        #expect(error?.message.contains("truncated") == true)
    }

    @Test func truncatedMidQuote() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("quoted-basic.txt")), as: UTF8.self)
        let cut = String(text[..<text.range(of: "The buyer")!.upperBound])
        let error = error(reading: Array(cut.utf8))
        #expect(error?.kind == .truncated)
        #expect(error?.message.contains("never closes") == true)
    }

    @Test func truncatedInTheLastTakeWithoutFooter() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), as: UTF8.self)
        let footer = try #require(text.range(of: "Weekly AI Tool Verdicts"))
        var head = String(text[..<footer.lowerBound]).trimmingCharacters(in: .whitespacesAndNewlines)
        head.removeLast(12)  // stop mid-sentence
        #expect(error(reading: Array(head.utf8))?.kind == .truncated)
    }

    @Test func pageWithOneTool() throws {
        let error = error(reading: try TestPaths.bytes(TestPaths.fixture("one-tool.txt")))
        #expect(error?.kind == .wrongToolCount)
        #expect(error?.message.contains("found 1 tool block") == true)
    }

    @Test func missingScorecard() throws {
        let error = error(reading: try TestPaths.bytes(TestPaths.fixture("no-scorecard.txt")))
        #expect(error?.kind == .missingSection)
        #expect(error?.message.contains("Reviewer scorecard") == true)
    }

    @Test func proseThatIsNotAComparison() {
        let error = error(reading: Array("# Notes\n\nJust some text about tools.\n".utf8))
        #expect(error?.kind == .notAComparison)
    }

    @Test func missingDescriptionNamesTheTool() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("quoted-basic.txt")), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let entry = try #require(lines.lastIndex(of: "Entry"))
        lines.remove(at: entry + 1)  // the second tool's description
        let error = error(reading: Array(lines.joined(separator: "\n").utf8))
        #expect(error?.kind == .missingSection)
        #expect(error?.message.contains("Halcyon Voice") == true)
    }

    @Test func badScoreLineIsMalformed() throws {
        let text = String(decoding: try TestPaths.bytes(TestPaths.fixture("labelled-basic.txt")), as: UTF8.self)
        let broken = text.replacingOccurrences(of: "Ship · 3 ship / 1 skip", with: "Ship · three ship")
        let error = error(reading: Array(broken.utf8))
        #expect(error?.kind == .malformed)
        #expect(error?.message.contains("three ship") == true)
        #expect(error?.line != nil)
    }
}
