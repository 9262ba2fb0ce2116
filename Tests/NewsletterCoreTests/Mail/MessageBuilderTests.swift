import Foundation
import NewsletterCore
import Testing

/// Messages are parsed back by an independent parser, Python's `email` package, and checked:
/// structure, headers, and decoded bodies.
struct MessageBuilderTests {
    struct Parsed: Decodable {
        struct Part: Decodable {
            var contentType: String
            var charset: String?
            var transferEncoding: String
            var content: String
        }
        var headers: [String: String]
        var toDisplayName: String
        var rawHeaderLines: [String]
        var contentType: String
        var parts: [Part]
        var defects: [String]
        var longestLine: Int
        var longestBodyLine: Int
        var bareLF: Bool
    }

    static let parser = #"""
        import email, email.policy, json, sys
        raw = open(sys.argv[1], "rb").read()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = raw.split(b"\r\n")
        parts = []
        defects = [type(d).__name__ for d in message.defects]
        for part in message.iter_parts():
            defects += [type(d).__name__ for d in part.defects]
            parts.append({"contentType": part.get_content_type(), "charset": part.get_content_charset(),
                          "transferEncoding": part.get("Content-Transfer-Encoding", ""),
                          "content": part.get_content()})
        print(json.dumps({
            "headers": {k: str(v) for k, v in message.items()},
            "toDisplayName": message["To"].addresses[0].display_name,
            "rawHeaderLines": [l.decode("ascii") for l in head.split(b"\r\n")],
            "contentType": message.get_content_type(), "parts": parts, "defects": defects,
            "longestLine": max(len(l) for l in lines),
            "longestBodyLine": max(len(l) for l in body.split(b"\r\n")),
            "bareLF": b"\n" in raw.replace(b"\r\n", b""),
        }))
        """#

    func parse(_ bytes: [UInt8]) throws -> Parsed {
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("message.eml")
        try Data(bytes).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.parser, file.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return try JSONDecoder().decode(Parsed.self, from: data)
    }

    func message(
        subject: String = "Ship or Skip · 2026-W47: Inkwell vs Tallyhoist", text: String, html: String,
        name: String? = "Ada Lovelace"
    ) throws -> OutgoingMessage {
        OutgoingMessage(
            from: try MailAddress("digest@shiporskip.example", displayName: "Ship or Skip Weekly"),
            to: try MailAddress("ada@example.org", displayName: name), subject: subject, text: text, html: html,
            listID: "weekly.shiporskip.example", unsubscribeURL: "https://news.example.org/unsubscribe/abc123",
            unsubscribeMailto: "mailto:unsubscribe@shiporskip.example?subject=abc123",
            feedbackID: "2026-W47:weekly:shiporskip",
            date: PublishedDate.parse("2026-11-23T07:00:00Z")!)
    }

    @Test func aMessageParsesBackWithItsStructureHeadersAndBodies() throws {
        let text = try String(contentsOf: TestPaths.fixture("golden/issue-2026-W47.txt"), encoding: .utf8)
        let html =
            "<!doctype html>\n<p style=\"color:#1f2933\">Grüße — “quotes” = fine</p>\n"
            + String(repeating: "<td>x</td>", count: 200) + "\n"
        let (bytes, messageID) = try message(text: text, html: html).encoded()
        let parsed = try parse(bytes)
        #expect(parsed.defects.isEmpty, "\(parsed.defects)")
        #expect(parsed.contentType == "multipart/alternative")
        #expect(parsed.parts.map(\.contentType) == ["text/plain", "text/html"])
        #expect(parsed.parts.allSatisfy { $0.charset == "utf-8" })
        #expect(parsed.parts[0].content.replacingOccurrences(of: "\r\n", with: "\n") == text)
        #expect(parsed.parts[1].content.replacingOccurrences(of: "\r\n", with: "\n") == html)
        #expect(parsed.headers["Subject"] == "Ship or Skip · 2026-W47: Inkwell vs Tallyhoist")
        #expect(parsed.headers["From"] == "Ship or Skip Weekly <digest@shiporskip.example>")
        #expect(parsed.headers["To"] == "Ada Lovelace <ada@example.org>")
        #expect(parsed.headers["Message-ID"] == "<\(messageID)>")
        #expect(messageID.hasSuffix("@shiporskip.example"))
        #expect(parsed.headers["Date"] == "Mon, 23 Nov 2026 07:00:00 +0000")
        #expect(parsed.headers["MIME-Version"] == "1.0")
        #expect(parsed.headers["List-Id"] == "<weekly.shiporskip.example>")
        #expect(
            parsed.headers["List-Unsubscribe"]
                == "<https://news.example.org/unsubscribe/abc123>, <mailto:unsubscribe@shiporskip.example?subject=abc123>"
        )
        #expect(parsed.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click")
        #expect(parsed.headers["Feedback-ID"] == "2026-W47:weekly:shiporskip")
        #expect(!parsed.bareLF)
        #expect(parsed.longestLine <= 998)
        #expect(parsed.longestBodyLine <= 76)
        #expect(parsed.rawHeaderLines.allSatisfy { $0.count <= 78 })
    }

    @Test func nonASCIISubjectsAndNamesBecomeEncodedWords() throws {
        let subject =
            "Schiff oder Skip · Woche 47: „Größte“ Überraschung 🚢 — " + String(repeating: "lange Zeile ", count: 8)
        let (bytes, _) = try message(
            subject: subject, text: "Hallo\n", html: "<p>Hallo</p>", name: "Zoë Ångström \"the\" Tester"
        ).encoded()
        let parsed = try parse(bytes)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.headers["Subject"] == subject)
        #expect(parsed.toDisplayName == "Zoë Ångström \"the\" Tester")
        #expect(parsed.rawHeaderLines.allSatisfy { $0.allSatisfy(\.isASCII) && $0.count <= 78 })
    }

    @Test func bodiesFarFromASCIIUseBase64AndStillDecode() throws {
        let text = String(repeating: "これはテストです。日本語のテキストは base64 の方が小さい。\n", count: 30)
        let (bytes, _) = try message(text: text, html: "<p>\(text)</p>").encoded()
        let parsed = try parse(bytes)
        #expect(parsed.parts.map(\.transferEncoding) == ["base64", "base64"])
        #expect(parsed.parts[0].content.replacingOccurrences(of: "\r\n", with: "\n") == text)
        #expect(parsed.longestBodyLine <= 76)
    }

    @Test func quotedPrintableEdgeCases() throws {
        // Trailing spaces, '=' signs, a line of exactly 76 and one of 301 characters, tabs.
        let text =
            "ends with spaces   \n= equals =\n" + String(repeating: "a", count: 76) + "\n"
            + String(repeating: "b", count: 300) + "=\n\tTab\t\n"
        let (bytes, _) = try message(text: text, html: "<p>x</p>").encoded()
        let parsed = try parse(bytes)
        #expect(parsed.parts[0].transferEncoding == "quoted-printable")
        #expect(parsed.parts[0].content.replacingOccurrences(of: "\r\n", with: "\n") == text)
        #expect(parsed.longestBodyLine <= 76)
    }

    @Test func crlfInputKeepsItsLineBreaksAndNothingElse() throws {
        let (bytes, _) = try message(text: "a\r\nb\r\n\r\nc", html: "<p>x</p>\r\n").encoded()
        let parsed = try parse(bytes)
        #expect(parsed.parts[0].content.replacingOccurrences(of: "\r\n", with: "\n") == "a\nb\n\nc")
        #expect(parsed.parts[1].content.replacingOccurrences(of: "\r\n", with: "\n") == "<p>x</p>\n")
        #expect(!parsed.bareLF)
    }

    @Test func headerLinesStayShortEvenForLongWordsAndTrailingSpaces() throws {
        let subject = String(repeating: "x", count: 1200) + " end " + String(repeating: "y", count: 60) + " "
        let (bytes, _) = try message(subject: subject, text: "x", html: "x", name: String(repeating: "N", count: 1000))
            .encoded()
        let parsed = try parse(bytes)
        #expect(parsed.headers["Subject"] == subject)
        #expect(
            parsed.rawHeaderLines.allSatisfy {
                $0.count <= 78 && !$0.trimmingCharacters(in: .whitespaces).isEmpty || $0.isEmpty
            })
        #expect(parsed.longestLine <= 998)
    }

    @Test(arguments: [
        ("ada@example.org\r\nRCPT TO:<victim@example.com>", "CR"),
        ("ada@example.org\nBcc: victim@example.com", "LF"),
        ("ada\0@example.org", "NUL"),
    ])
    func controlCharactersInAddressesAreRefused(address: String, character: String) {
        #expect(throws: MailError.controlCharacter(field: "address", character: character)) {
            try MailAddress(address)
        }
    }

    @Test func headerInjectionThroughNamesAndSubjectsIsRefused() throws {
        #expect(throws: MailError.controlCharacter(field: "display name", character: "LF")) {
            try MailAddress("ada@example.org", displayName: "Ada\nBcc: victim@example.com")
        }
        #expect(throws: MailError.controlCharacter(field: "subject", character: "CR")) {
            try message(subject: "Hello\r\nBcc: victim@example.com", text: "x", html: "x").encoded()
        }
    }

    @Test(arguments: [
        "no-at-sign", "two@@example.org", "@example.org", "ada@", "ada@localhost", "a da@example.org",
        "ada@exa_mple.org", "ada..b@example.org",
    ])
    func malformedAddressesAreRefusedWithAReason(address: String) {
        #expect {
            try MailAddress(address)
        } throws: { error in
            guard case .invalidAddress(let named, let reason) = error as? MailError else { return false }
            return named == address && !reason.isEmpty
        }
    }

    @Test(arguments: [
        "ada@example.org", "ADA.lovelace+digest@Example.ORG", "o'brien@mail.example.co.uk",
        "x!#$%&'*+-/=?^_`{|}~@ex-ample.org",
        "a@\(String(repeating: "d", count: 63)).org", "1@2.3",
    ])
    func wellFormedAddressesAreTaken(address: String) throws {
        #expect(try MailAddress(address).address == address)
    }

    /// Each part is checked byte by byte: a character outside the allowed ASCII sets is refused
    /// however it is spelled (non-ASCII, a combining mark on an allowed letter), with the reason
    /// of the part it is in.
    @Test(arguments: [
        ("adä@example.org", "the part before @"), ("e\u{301}@example.org", "the part before @"),
        ("ada@exämple.org", "the domain"), ("ada@example.o\u{301}rg", "the domain"),
        ("ada@\(String(repeating: "d", count: 64)).org", "the domain"), ("ada@-example.org", "the domain"),
        ("ada@example-.org", "the domain"), ("ada@example..org", "the domain"),
        (".ada@example.org", "the part before @"),
        ("ada.@example.org", "the part before @"), ("\(String(repeating: "a", count: 65))@example.org", "1–64"),
    ])
    func eachPartOfAnAddressIsRefusedWithItsOwnReason(address: String, reason: String) {
        #expect {
            try MailAddress(address)
        } throws: { error in
            guard case .invalidAddress(let named, let said) = error as? MailError else { return false }
            return named == address && said.contains(reason)
        }
    }
}
