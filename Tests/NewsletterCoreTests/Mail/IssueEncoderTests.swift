import Foundation
import Testing

@testable import NewsletterCore

/// The spliced encoder (issue 16) against the reference: for every reader, the same bytes as
/// filling the whole bodies and encoding the message as before.
struct IssueEncoderTests {
    static let from = try! MailAddress("digest@shiporskip.example", displayName: "Ship or Skip Weekly")
    static let date = PublishedDate.parse("2026-11-23T07:00:00Z")!

    /// The quoted-printable encoder as it was before issue 16 (whole text, from a String), kept
    /// here verbatim as the reference for the byte-level one.
    static func referenceQuotedPrintable(_ text: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var input = Array(text.utf8)
        if input.last == 10 {
            input.removeLast()
            if input.last == 13 { input.removeLast() }
        }
        var out: [UInt8] = []
        var column = 0
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == 13 && index + 1 < input.count && input[index + 1] == 10 {
                index += 1
                continue
            }
            if byte == 10 {
                out.append(13)
                out.append(10)
                column = 0
                index += 1
                continue
            }
            let next = index + 1 < input.count ? input[index + 1] : 10
            let endOfLine = next == 10 || (next == 13 && (index + 2 >= input.count || input[index + 2] == 10))
            let literal = (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !endOfLine)
            let width = literal ? 1 : 3
            if column + width > (endOfLine ? 76 : 75) {
                out.append(61)
                out.append(13)
                out.append(10)
                column = 0
            }
            if literal {
                out.append(byte)
            } else {
                out.append(61)
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
            column += width
            index += 1
        }
        if text.utf8.last == 10 {
            out.append(13)
            out.append(10)
        }
        return out
    }

    /// Deterministic text from a small alphabet full of what quoted-printable treats specially.
    static func randomText(_ generator: inout some RandomNumberGenerator, length: Int) -> String {
        let alphabet: [String] = [
            "a", "b", "x", " ", " ", "\t", "=", "\n", "\r\n", "\r", "é", "—", "漢", "😀", ".", "%", "%%", "\u{301}",
        ]
        var text = ""
        for _ in 0..<length { text += alphabet.randomElement(using: &generator)! }
        return text
    }

    @Test func byteLevelQuotedPrintableMatchesTheEncoderBeforeIt() {
        var generator = SeededRandom(seed: 16)
        for round in 0..<3000 {
            let text = Self.randomText(&generator, length: round % 300)
            #expect(MIME.quotedPrintable(text) == Self.referenceQuotedPrintable(text), "\(text.debugDescription)")
        }
        // Long lines: folds at every offset.
        for length in 70...160 {
            for tail in ["", " ", "\t", "=", "é", "\n", " \n", "\r\n", " \r\n", "\r"] {
                let text = String(repeating: "y", count: length) + tail
                #expect(MIME.quotedPrintable(text) == Self.referenceQuotedPrintable(text))
            }
        }
    }

    @Test func quotedPrintableOfATextIsTheConcatenationOfItsLines() {
        var generator = SeededRandom(seed: 1616)
        for round in 0..<1000 {
            let text = Self.randomText(&generator, length: round % 400)
            var lines: [UInt8] = []
            var rest = Array(text.utf8)[...]
            while !rest.isEmpty {
                let end = rest.firstIndex(of: 10).map { $0 + 1 } ?? rest.endIndex
                rest[rest.startIndex..<end].withUnsafeBufferPointer {
                    MIME.appendQuotedPrintable($0, to: &lines, endsText: end == rest.endIndex)
                }
                rest = rest[end...]
            }
            #expect(lines == Self.referenceQuotedPrintable(text), "\(text.debugDescription)")
        }
        // Found by the loop above: a line ending in " \r\r\n" within a text, and at its end.
        for text in ["a \r\r\nb", "a \r\r\n", "a\r\r\n\r\n", " \r\n\r"] {
            var lines: [UInt8] = []
            let bytes = Array(text.utf8)
            let cut = bytes.firstIndex(of: 10)! + 1
            bytes[..<cut].withUnsafeBufferPointer {
                MIME.appendQuotedPrintable($0, to: &lines, endsText: cut == bytes.count)
            }
            bytes[cut...].withUnsafeBufferPointer { MIME.appendQuotedPrintable($0, to: &lines, endsText: true) }
            #expect(lines == Self.referenceQuotedPrintable(text), "\(text.debugDescription)")
        }
    }

    struct Reader {
        var name: String?
        var address: String
        var publicURL = "https://news.example.org"
        var token: String
    }

    /// Names with non-ASCII, quotes, HTML specials, long ones (encoded-words) and none; URLs
    /// short and long enough to fold.
    static func readers(count: Int) -> [Reader] {
        let names: [String?] = [
            "Ada Lovelace", nil, "", "   ", "José Ñúñez", "Zoë \"the\" O'Brien", "<b>Tom & Jerry</b>",
            "Ærøskøbing Ålesund-Ødegård", "李小龙", "Emoji 😀 Person", "back\\slash", "=?utf-8?q?fake?=",
            String(repeating: "Verylongname", count: 8), "Ünïcødé " + String(repeating: "ü", count: 60),
            "trailing space ", "a\u{301}&\u{301}", "%%GREETING%%", "x=y", "\tTabbed",
        ]
        let urls = [
            "https://news.example.org", "https://n.example",
            "https://news.example.org/" + String(repeating: "p", count: 60),
            "https://news.example.org/a=b&c=d", "https://news.example.org/" + String(repeating: "q", count: 130),
        ]
        return (0..<count).map { index in
            Reader(
                name: names[index % names.count], address: "reader\(index)@example.org",
                publicURL: urls[(index / names.count) % urls.count],
                token: String(repeating: "T", count: index % 50) + "tok\(index)")
        }
    }

    func expectIdentical(
        text: String, html: String, subject: String = "Ship or Skip · 2026-W47: Inkwell vs Tallyhoist",
        readers: [Reader], includeHTML: Bool = true, splices: SplicedReaders = .all,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var splicedReaders = 0
        let encoder = IssueEncoder(
            from: Self.from, subject: subject, text: text, html: html, listID: "weekly.shiporskip.example",
            unsubscribeMailto: "mailto:unsubscribe@shiporskip.example", feedbackID: "2026-W47:weekly:shiporskip")
        for (index, reader) in readers.enumerated() {
            let personalization = Personalization(
                name: reader.name, unsubscribeURL: "\(reader.publicURL)/unsubscribe/\(reader.token)",
                preferencesURL: "\(reader.publicURL)/preferences/\(reader.token)")
            // Where base64 may win, `message` hands back the reference's own bytes: the comparison
            // below would then compare the reference with itself. Say which path a case takes.
            let fallsBack =
                encoder.text.readerLines(personalization.values(html: false)).mayPreferBase64
                || (includeHTML && encoder.html.readerLines(personalization.values(html: true)).mayPreferBase64)
            if !fallsBack { splicedReaders += 1 }
            let recipient = try MailAddress(reader.address, displayName: reader.name)
            let messageID = "id\(index)@shiporskip.example"
            let boundary = "=_nl_boundary\(index)"
            let reference = try encoder.reference(
                to: recipient, personalization: personalization, includeHTML: includeHTML, date: Self.date
            ).encoded(messageID: messageID, boundary: boundary)
            let spliced = try encoder.message(
                to: recipient, personalization: personalization, includeHTML: includeHTML, date: Self.date,
                messageID: messageID, boundary: boundary)
            #expect(
                spliced == reference,
                "reader \(index) (\(reader.name ?? "nil")): first difference at byte \(Array(zip(spliced, reference)).firstIndex { $0 != $1 } ?? min(spliced.count, reference.count))",
                sourceLocation: sourceLocation)
        }
        switch splices {
        case .all: #expect(splicedReaders == readers.count, "readers spliced", sourceLocation: sourceLocation)
        case .none: #expect(splicedReaders == 0, "readers spliced", sourceLocation: sourceLocation)
        case .most: #expect(splicedReaders * 2 > readers.count, "readers spliced", sourceLocation: sourceLocation)
        }
    }

    /// How many readers of a case the spliced path must serve (the others get the reference's
    /// bytes, where base64 may win), so that no case silently compares the reference with itself.
    enum SplicedReaders { case all, none, most }

    /// The project's own templates, rendered for a week of example pages.
    static func realDraft() async throws -> (subject: String, html: String, text: String) {
        let directory = try TestPaths.temporaryDirectory()
        let store = try AppDatabase.open(path: directory.appendingPathComponent("data/newsletter.sqlite").path)
        var settings = IssueSettings()
        settings.timeZone = TimeZone(identifier: "Europe/Berlin")!
        settings.siteURL = "https://shiporskip.example"
        settings.publicURL = "https://news.example.org"
        for (index, name) in ["labelled-basic.txt", "quoted-basic.txt", "quoted-hard.txt"].enumerated() {
            let comparison = try ComparisonPageReader(
                publishedFallback: PublishedDate.parse("2026-11-1\(6 + index)T10:00:00Z")
            ).read(try TestPaths.bytes(TestPaths.fixture(name)), source: "/pages/\(name)")
            _ = try await store.saveComparison(comparison)
        }
        let preview = IssuePreview(
            store: store,
            templates: try TemplateSet.load(directory: TestPaths.repository.appendingPathComponent("templates").path),
            settings: settings, outboxDirectory: directory.appendingPathComponent("outbox").path)
        let draft = try await preview.preview(try IssueWeek(parsing: "2026-W47")).draft
        return (draft.subject, draft.html, draft.text)
    }

    @Test func theRealDraftSplicesToTheReferenceBytesForManyReaders() async throws {
        let draft = try await Self.realDraft()
        #expect(draft.html.contains(Placeholder.unsubscribeURL.rawValue))
        #expect(draft.text.contains(Placeholder.greeting.rawValue))
        try expectIdentical(
            text: draft.text, html: draft.html, subject: draft.subject, readers: Self.readers(count: 300))
        try expectIdentical(
            text: draft.text, html: draft.html, subject: draft.subject, readers: Self.readers(count: 40),
            includeHTML: false)
    }

    @Test func placeholdersAtEveryFoldOffsetAndNextToSoftBreaks() throws {
        var text = ""
        var html = ""
        // A placeholder starting at every column around the fold, with every kind of neighbour.
        for column in 0...80 {
            for (before, after) in [("", ""), (" ", " "), ("=", "="), ("é", "\t"), ("\t", " \r"), ("x", "")] {
                let prefix = String(repeating: "w", count: column) + before
                text += prefix + "%%GREETING%%" + after + "\n"
                html += prefix + "%%UNSUBSCRIBE_URL%%" + after + "%%PREFERENCES_URL%%" + before + "\r\n"
            }
        }
        // Near-placeholders, repeated percent signs and a placeholder ending the body without a newline.
        text += "%%%GREETING%% %%GREETING% %GREETING%% %%%%PREFERENCES_URL%%%%\n\n\n  \n"
        html += "<a href=\"%%UNSUBSCRIBE_URL%%\">%%GREETING%%</a>%%GREETING%%"
        // Its "=" and "é" neighbours bring some readers' copies near base64's size: most, not all, splice.
        try expectIdentical(text: text, html: html, readers: Self.readers(count: 120), splices: .most)
    }

    static let prose = String(repeating: "The panel ships this tool for its clean API and fair price. ", count: 6)

    @Test func randomTemplatesSpliceToTheReferenceBytes() throws {
        var generator = SeededRandom(seed: 42)
        let placeholders = Placeholder.allCases.map(\.rawValue)
        for _ in 0..<40 {
            var text = ""
            var html = ""
            for _ in 0..<30 {
                // Mostly plain words between the specials, as in real templates: text this far from
                // ASCII only would make base64 the better encoding, and the splice would not run.
                text += Self.randomText(&generator, length: Int.random(in: 0..<90, using: &generator)) + Self.prose
                html +=
                    Self.randomText(&generator, length: Int.random(in: 0..<200, using: &generator)) + Self.prose
                    + Self.prose
                text += placeholders.randomElement(using: &generator)!
                html += placeholders.randomElement(using: &generator)!
            }
            try expectIdentical(text: text, html: html, readers: Self.readers(count: 12))
        }
    }

    @Test func bodiesWhereBase64MayWinComeFromTheReferenceEncoder() throws {
        // Text far from ASCII: the reference picks base64; the spliced path must not guess.
        let text = "%%GREETING%%\n" + String(repeating: "漢字かな交じり文。", count: 200) + "\n%%UNSUBSCRIBE_URL%%\n"
        let html = "<p>%%GREETING%%</p>\n" + String(repeating: "<p>Ελληνικά κείμενα</p>\n", count: 100)
        try expectIdentical(text: text, html: html, readers: Self.readers(count: 30), splices: .none)
        let encoder = IssueEncoder(from: Self.from, subject: "s", text: text, html: html, listID: "l.example")
        let copy = try encoder.message(
            to: try MailAddress("a@example.org"),
            personalization: Personalization(name: "A", unsubscribeURL: "https://u/1", preferencesURL: "https://p/1"))
        #expect(String(decoding: copy.bytes, as: UTF8.self).contains("Content-Transfer-Encoding: base64"))
    }

    @Test func badFieldsAreRefusedWithTheSameErrorAsTheReference() throws {
        let cases: [(subject: String, url: String, feedback: String?)] = [
            ("bad\r\nBcc: x@example.org", "https://u/1", nil),
            ("fine", "https://u/1\r\nBcc: x@example.org", "fb\nx"),
            ("fine", "https://u/1", "fb\nx"),
        ]
        for (subject, url, feedback) in cases {
            let encoder = IssueEncoder(
                from: Self.from, subject: subject, text: "%%GREETING%%\n", html: "<p>%%GREETING%%</p>",
                listID: "l.example", feedbackID: feedback)
            let personalization = Personalization(name: "A", unsubscribeURL: url, preferencesURL: "https://p/1")
            let recipient = try MailAddress("a@example.org")
            var referenceError: MailError?
            do {
                _ = try encoder.reference(
                    to: recipient, personalization: personalization, includeHTML: true, date: Self.date
                )
                .encoded()
            } catch { referenceError = error }
            var splicedError: MailError?
            do { _ = try encoder.message(to: recipient, personalization: personalization) } catch {
                splicedError = error
            }
            #expect(referenceError != nil)
            #expect(splicedError == referenceError)
        }
    }
}
