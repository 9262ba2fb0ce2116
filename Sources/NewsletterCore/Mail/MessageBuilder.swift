import Foundation

/// One recipient's copy of an issue, ready for SMTP: `multipart/alternative` (text first, HTML
/// last), UTF-8, each body quoted-printable or base64 (whichever is smaller), CRLF line ends,
/// headers folded, non-ASCII in RFC 2047 encoded-words, and the list headers of RFC 2369 and
/// RFC 8058 (one-click unsubscribe).
public struct OutgoingMessage: Sendable {
    public var from: MailAddress
    public var to: MailAddress
    public var subject: String
    public var text: String
    /// nil: a plain-text-only message, for subscribers who asked for text.
    public var html: String?
    /// `List-Id`, e.g. `weekly.shiporskip.example`.
    public var listID: String
    /// The one-click unsubscribe URL (https) for this recipient; nil for a message that is not
    /// an issue of the list (a signup confirmation), which carries no list headers.
    public var unsubscribeURL: String?
    /// An optional `mailto:` unsubscribe address for clients that prefer mail.
    public var unsubscribeMailto: String?
    public var feedbackID: String?
    public var date: Date

    public init(
        from: MailAddress, to: MailAddress, subject: String, text: String, html: String?, listID: String,
        unsubscribeURL: String?, unsubscribeMailto: String? = nil, feedbackID: String? = nil, date: Date = Date()
    ) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.listID = listID
        self.unsubscribeURL = unsubscribeURL
        self.unsubscribeMailto = unsubscribeMailto
        self.feedbackID = feedbackID
        self.date = date
    }

    /// The message's bytes, and its Message-ID (without angle brackets).
    public func encoded() throws(MailError) -> (bytes: [UInt8], messageID: String) {
        let messageID = Self.newMessageID(from: from)
        return (try encoded(messageID: messageID, boundary: Self.newBoundary()), messageID)
    }

    /// A fresh Message-ID (without angle brackets) in the sender's domain.
    static func newMessageID(from: MailAddress) -> String {
        let domain = from.address.split(separator: "@").last ?? "localhost"
        return "\(Hex.random(16))@\(domain)"
    }

    /// A fresh multipart boundary: "=_" never occurs in quoted-printable or base64 output.
    static func newBoundary() -> String { "=_nl_\(Hex.random(12))" }

    /// The message with the given Message-ID and boundary: the reference encoding, which
    /// `IssueEncoder` reproduces byte for byte.
    func encoded(messageID: String, boundary: String) throws(MailError) -> [UInt8] {
        for (field, value) in [
            ("subject", subject), ("List-Id", listID), ("unsubscribe URL", unsubscribeURL ?? ""),
            ("unsubscribe mailto", unsubscribeMailto ?? ""), ("Feedback-ID", feedbackID ?? ""),
        ] {
            try MailAddress.rejectControlCharacters(value, field: field)
        }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + (html?.utf8.count ?? 0) + 2048)
        out += MIME.header("Date", Self.rfc5322Date(date))
        out += MIME.header("Message-ID", "<\(messageID)>")
        out += MIME.header("From", words: Self.addressWords(from))
        out += MIME.header("To", words: Self.addressWords(to))
        out += Self.subjectHeader(subject)
        out += MIME.header("MIME-Version", "1.0")
        if let unsubscribeURL {
            out += MIME.header("List-Id", "<\(listID)>")
            out += Self.listUnsubscribeHeader(url: unsubscribeURL, mailto: unsubscribeMailto)
            out += MIME.header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        }
        if let feedbackID { out += MIME.header("Feedback-ID", feedbackID) }
        guard let html else {
            let (encoding, encoded) = MIME.encodeBody(text)
            out += MIME.header("Content-Type", "text/plain; charset=utf-8")
            out += MIME.header("Content-Transfer-Encoding", encoding.rawValue)
            out += MIME.crlf
            out += encoded
            return out
        }
        out += MIME.header("Content-Type", words: ["multipart/alternative;", "boundary=\"\(boundary)\""])
        out += MIME.crlf
        for (subtype, body) in [("plain", text), ("html", html)] {
            let (encoding, encoded) = MIME.encodeBody(body)
            out += Array("--\(boundary)".utf8) + MIME.crlf
            out += MIME.header("Content-Type", "text/\(subtype); charset=utf-8")
            out += MIME.header("Content-Transfer-Encoding", encoding.rawValue)
            out += MIME.crlf
            out += encoded
            // The CRLF before a boundary belongs to the boundary (RFC 2046), so the body's own
            // last line break needs one more.
            out += MIME.crlf
        }
        out += Array("--\(boundary)--".utf8) + MIME.crlf
        return out
    }

    static func subjectHeader(_ subject: String) -> [UInt8] {
        MIME.header(
            "Subject",
            words: MIME.encodedWords(subject).flatMap { word in
                word.hasPrefix("=?")
                    ? [word] : word.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            })
    }

    static func listUnsubscribeHeader(url: String, mailto: String?) -> [UInt8] {
        var out: [UInt8] = []
        appendListUnsubscribeHeader(url: url, mailto: mailto, to: &out)
        return out
    }

    static func appendListUnsubscribeHeader(url: String, mailto: String?, to out: inout [UInt8]) {
        let words = mailto.map { ["<\(url)>,", "<\($0)>"] } ?? ["<\(url)>"]
        MIME.appendHeader("List-Unsubscribe", words: words, to: &out)
    }

    /// `Display Name <local@domain>`, the name quoted or encoded as needed.
    static func addressWords(_ address: MailAddress) -> [String] {
        guard let name = address.displayName else { return [address.address] }
        // Printable ASCII bytes are one Character each, so their count is the name's length.
        let plain = name.utf8.count <= 70 && name.utf8.allSatisfy { $0 >= 32 && $0 < 127 }
        let nameWords: [String]
        if plain && !name.contains("=?") {
            let needsEscapes = name.utf8.contains { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") }
            let escaped =
                needsEscapes
                ? name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") : name
            nameWords = ["\"\(escaped)\""]
        } else {
            nameWords = MIME.encodedWords(name)
        }
        return nameWords + ["<\(address.address)>"]
    }

    /// `Mon, 23 Nov 2026 07:00:00 +0000`, with the C library: building a DateFormatter for
    /// every message cost more than encoding it.
    static func rfc5322Date(_ date: Date) -> String {
        var bytes: [UInt8] = []
        appendRFC5322Date(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The date's bytes appended to `out`, without a String.
    static func appendRFC5322Date(_ date: Date, to out: inout [UInt8]) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buffer in
            let length = strftime(buffer.baseAddress!, buffer.count, "%a, %d %b %Y %H:%M:%S +0000", &parts)
            buffer.withMemoryRebound(to: UInt8.self) { out.append(contentsOf: $0[..<length]) }
        }
    }

    /// `Date: …` and `Message-ID: <…>` as `MIME.header` makes them (neither is ever folded: a
    /// date is 31 characters, and a header's first word always stays on its line), written
    /// straight into `out`.
    static func appendDateAndMessageID(date: Date, messageID: String, to out: inout [UInt8]) {
        out.append(contentsOf: "Date: ".utf8)
        appendRFC5322Date(date, to: &out)
        out.append(contentsOf: "\r\nMessage-ID: <".utf8)
        out.append(contentsOf: messageID.utf8)
        out.append(contentsOf: ">\r\n".utf8)
    }
}
