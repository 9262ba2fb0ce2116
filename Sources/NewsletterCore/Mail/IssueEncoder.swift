import Foundation

/// One frozen issue (or variant) encoded once for all its readers.
///
/// A reader's copy differs from the next reader's only in a few headers (Date, Message-ID, To,
/// List-Unsubscribe), the multipart boundary and the lines of the bodies that hold a placeholder
/// (greeting, unsubscribe and preferences links). Everything else is made into final wire bytes
/// here, once: the shared headers, and each body's placeholder-free lines quoted-printable encoded
/// and folded. A copy then encodes only its own headers and placeholder lines, and splices.
///
/// The bytes are exactly those of `OutgoingMessage.encoded()` for the same reader, Message-ID and
/// boundary (`IssueEncoderTests` compares the two over many readers). Where base64 could be the
/// smaller encoding of a body (text far from ASCII), the copy is made by that reference encoder
/// instead, so the choice it makes stays the same.
///
/// Dots at line starts are left to the transport: libcurl stuffs them itself.
public struct IssueEncoder: Sendable {
    public let from: MailAddress
    public let subject: String
    public let listID: String
    public let unsubscribeMailto: String?
    public let feedbackID: String?
    let text: SplicedBody
    let html: SplicedBody
    let textTemplate: String
    let htmlTemplate: String
    /// The headers every copy shares: From; Subject, MIME-Version and List-Id; and the ones after
    /// List-Unsubscribe.
    let fromHeader: [UInt8]
    let subjectAndListID: [UInt8]
    let afterUnsubscribe: [UInt8]
    /// The reference encoder refuses a message on the first bad field in this order: subject,
    /// List-Id, unsubscribe URL, mailto, Feedback-ID. The shared ones are checked here once.
    let invalidBeforeURL: MailError?
    let invalidAfterURL: MailError?

    public init(
        from: MailAddress, subject: String, text: String, html: String, listID: String,
        unsubscribeMailto: String? = nil, feedbackID: String? = nil
    ) {
        self.from = from
        self.subject = subject
        self.listID = listID
        self.unsubscribeMailto = unsubscribeMailto
        self.feedbackID = feedbackID
        textTemplate = text
        htmlTemplate = html
        self.text = SplicedBody(template: text)
        self.html = SplicedBody(template: html)
        func check(_ fields: [(String, String)]) -> MailError? {
            for (field, value) in fields {
                do { try MailAddress.rejectControlCharacters(value, field: field) } catch { return error }
            }
            return nil
        }
        invalidBeforeURL = check([("subject", subject), ("List-Id", listID)])
        invalidAfterURL = check([("unsubscribe mailto", unsubscribeMailto ?? ""), ("Feedback-ID", feedbackID ?? "")])
        fromHeader = MIME.header("From", words: OutgoingMessage.addressWords(from))
        subjectAndListID =
            OutgoingMessage.subjectHeader(subject) + MIME.header("MIME-Version", "1.0")
            + MIME.header("List-Id", "<\(listID)>")
        afterUnsubscribe =
            MIME.header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
            + (feedbackID.map { MIME.header("Feedback-ID", $0) } ?? [])
    }

    /// One reader's copy, and its Message-ID (without angle brackets).
    public func message(
        to recipient: MailAddress, personalization: Personalization, includeHTML: Bool = true, date: Date = Date()
    ) throws(MailError) -> (bytes: [UInt8], messageID: String) {
        let messageID = OutgoingMessage.newMessageID(from: from)
        let bytes = try message(
            to: recipient, personalization: personalization, includeHTML: includeHTML, date: date,
            messageID: messageID, boundary: OutgoingMessage.newBoundary())
        return (bytes, messageID)
    }

    func message(
        to recipient: MailAddress, personalization: Personalization, includeHTML: Bool, date: Date,
        messageID: String, boundary: String
    ) throws(MailError) -> [UInt8] {
        if let invalidBeforeURL { throw invalidBeforeURL }
        try MailAddress.rejectControlCharacters(personalization.unsubscribeURL, field: "unsubscribe URL")
        if let invalidAfterURL { throw invalidAfterURL }

        let textLines = text.readerLines(personalization.values(html: false))
        let htmlLines = includeHTML ? html.readerLines(personalization.values(html: true)) : nil
        guard !textLines.mayPreferBase64, htmlLines?.mayPreferBase64 != true else {
            return try reference(
                to: recipient, personalization: personalization, includeHTML: includeHTML, date: date
            ).encoded(messageID: messageID, boundary: boundary)
        }

        var out: [UInt8] = []
        out.reserveCapacity(text.wireCount + (includeHTML ? html.wireCount : 0) + 2048)
        OutgoingMessage.appendDateAndMessageID(date: date, messageID: messageID, to: &out)
        out += fromHeader
        MIME.appendHeader("To", words: OutgoingMessage.addressWords(recipient), to: &out)
        out += subjectAndListID
        OutgoingMessage.appendListUnsubscribeHeader(
            url: personalization.unsubscribeURL, mailto: unsubscribeMailto, to: &out)
        out += afterUnsubscribe
        guard let htmlLines else {
            out += Self.plainTextHeaders
            text.splice(textLines, into: &out)
            return out
        }
        out += MIME.header("Content-Type", words: ["multipart/alternative;", "boundary=\"\(boundary)\""])
        out += MIME.crlf
        let delimiter = Array("--\(boundary)".utf8) + MIME.crlf
        out += delimiter
        out += Self.plainTextHeaders
        text.splice(textLines, into: &out)
        out += MIME.crlf
        out += delimiter
        out += Self.htmlHeaders
        html.splice(htmlLines, into: &out)
        out += MIME.crlf
        out += Array("--\(boundary)--".utf8) + MIME.crlf
        return out
    }

    /// The same copy through the reference encoder (fill the whole bodies, then encode them).
    func reference(
        to recipient: MailAddress, personalization: Personalization, includeHTML: Bool, date: Date
    ) -> OutgoingMessage {
        OutgoingMessage(
            from: from, to: recipient, subject: subject, text: personalization.fill(textTemplate, html: false),
            html: includeHTML ? personalization.fill(htmlTemplate, html: true) : nil, listID: listID,
            unsubscribeURL: personalization.unsubscribeURL, unsubscribeMailto: unsubscribeMailto,
            feedbackID: feedbackID, date: date)
    }

    /// A text part's (or a text-only message's) headers and the empty line after them.
    static let plainTextHeaders =
        MIME.header("Content-Type", "text/plain; charset=utf-8")
        + MIME.header("Content-Transfer-Encoding", MIME.TransferEncoding.quotedPrintable.rawValue) + MIME.crlf
    static let htmlHeaders =
        MIME.header("Content-Type", "text/html; charset=utf-8")
        + MIME.header("Content-Transfer-Encoding", MIME.TransferEncoding.quotedPrintable.rawValue) + MIME.crlf
}

/// A body with placeholders, quoted-printable encoded once: runs of lines without a placeholder
/// as final wire bytes, lines with one kept to be filled and encoded per reader. Quoted-printable
/// restarts at every line break, so encoding line by line gives the bytes of encoding the whole.
struct SplicedBody: Sendable {
    enum Piece: Sendable {
        case bytes([UInt8])
        case field(Placeholder)
    }

    enum Segment: Sendable {
        /// Encoded lines, CRLF-terminated (the last one of the body possibly not).
        case wire([UInt8])
        /// One source line (with its line break) that holds a placeholder; the last of the body
        /// is encoded as the end of a text.
        case line([Piece], endsText: Bool)
    }

    let segments: [Segment]
    /// UTF-8 bytes of the template outside its placeholders.
    let fixedSourceCount: Int
    /// Wire bytes of the encoded runs.
    let wireCount: Int

    init(template: String) {
        var template = template
        var segments: [Segment] = []
        var fixedSourceCount = 0
        var wireCount = 0
        template.withUTF8 { source in
            var runStart = 0
            var lineStart = 0
            func flushRun(upTo end: Int) {
                guard end > runStart else { return }
                var wire: [UInt8] = []
                wire.reserveCapacity((end - runStart) * 9 / 8 + 16)
                MIME.appendQuotedPrintable(
                    UnsafeBufferPointer(rebasing: source[runStart..<end]), to: &wire, endsText: end == source.count)
                fixedSourceCount += end - runStart
                wireCount += wire.count
                segments.append(.wire(wire))
            }
            while lineStart < source.count {
                var lineEnd = lineStart
                while lineEnd < source.count && source[lineEnd] != 10 { lineEnd += 1 }
                if lineEnd < source.count { lineEnd += 1 }  // the line break belongs to its line
                // The same left-to-right scan as `Personalization.fill`; a placeholder never
                // holds a line break, so scanning line by line finds the same ones.
                var pieces: [Piece] = []
                var literalStart = lineStart
                var index = lineStart
                let line = UnsafeBufferPointer(rebasing: source[..<lineEnd])
                while index < lineEnd {
                    if let placeholder = Placeholder.match(in: line, at: index) {
                        if index > literalStart { pieces.append(.bytes(Array(source[literalStart..<index]))) }
                        pieces.append(.field(placeholder))
                        index += placeholder.rawValue.utf8.count
                        literalStart = index
                    } else {
                        index += 1
                    }
                }
                if !pieces.isEmpty {
                    if lineEnd > literalStart { pieces.append(.bytes(Array(source[literalStart..<lineEnd]))) }
                    flushRun(upTo: lineStart)
                    for case .bytes(let bytes) in pieces { fixedSourceCount += bytes.count }
                    segments.append(.line(pieces, endsText: lineEnd == source.count))
                    runStart = lineEnd
                }
                lineStart = lineEnd
            }
            flushRun(upTo: source.count)
        }
        self.segments = segments
        self.fixedSourceCount = fixedSourceCount
        self.wireCount = wireCount
    }

    /// A reader's placeholder lines, encoded, one after another.
    struct ReaderLines {
        var wire: [UInt8] = []
        var ends: [Int] = []
        /// True when the reference encoder would try base64 for this body (its quoted-printable
        /// is over 4/3 of the text): the copy must then come from the reference encoder.
        var mayPreferBase64 = false
    }

    func readerLines(_ values: PlaceholderValues) -> ReaderLines {
        var lines = ReaderLines()
        var sourceCount = fixedSourceCount
        var line: [UInt8] = []
        for case .line(let pieces, let endsText) in segments {
            line.removeAll(keepingCapacity: true)
            for piece in pieces {
                switch piece {
                case .bytes(let bytes): line += bytes
                case .field(let placeholder):
                    let value = values[placeholder]
                    line += value
                    sourceCount += value.count
                }
            }
            line.withUnsafeBufferPointer { MIME.appendQuotedPrintable($0, to: &lines.wire, endsText: endsText) }
            lines.ends.append(lines.wire.count)
        }
        let qpCount = wireCount + lines.wire.count
        lines.mayPreferBase64 = qpCount > sourceCount * 4 / 3
        return lines
    }

    func splice(_ lines: ReaderLines, into out: inout [UInt8]) {
        var next = 0
        var start = 0
        for segment in segments {
            switch segment {
            case .wire(let wire): out += wire
            case .line:
                let end = lines.ends[next]
                out += lines.wire[start..<end]
                start = end
                next += 1
            }
        }
    }
}
