import Foundation

/// The MIME encodings a digest needs (RFC 2045, 2047), written for mail bodies of tens of
/// kilobytes per recipient: byte-level, no intermediate strings per character.
public enum MIME {
    static let crlf: [UInt8] = [13, 10]
    private static let hex = Array("0123456789ABCDEF".utf8)

    /// Text with LF or CRLF line ends, as quoted-printable with CRLF line ends: encoded lines of
    /// at most 76 characters (soft breaks where needed), trailing white space encoded.
    public static func quotedPrintable(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8 + 16)
        var text = text
        text.withUTF8 { appendQuotedPrintable($0, to: &out, endsText: true) }
        return out
    }

    /// Quoted-printable of UTF-8 bytes, appended to `out`. Each line is encoded on its own
    /// (the column restarts at every line break, and only a line's own bytes decide where it
    /// folds), so the encoding of a text is the concatenation of the encodings of its lines,
    /// each taken with its line break: what lets `SplicedBody` encode most lines once per issue.
    /// `endsText` says whether these bytes end the text (only there is a final newline taken
    /// off first, which changes what the bytes before it look ahead to: " \r\r\n" ends a
    /// text as "=20=0D", but a line within it as " =0D").
    static func appendQuotedPrintable(_ whole: UnsafeBufferPointer<UInt8>, to out: inout [UInt8], endsText: Bool) {
        // A final newline ends the last line; it is not a line.
        let endsWithNewline = endsText && whole.last == 10
        var count = whole.count
        if endsWithNewline {
            count -= 1
            if count > 0 && whole[count - 1] == 13 { count -= 1 }
        }
        let input = UnsafeBufferPointer(rebasing: whole[0..<count])
        var column = 0
        var index = 0
        while index < input.count {
            let byte = input[index]
            if byte == 13 && index + 1 < input.count && input[index + 1] == 10 {  // CRLF: the LF below ends the line
                index += 1
                continue
            }
            if byte == 10 {  // a hard line break
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
            // Keep room for the soft break "=" unless this is the line's last character.
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
        if endsWithNewline {
            out.append(13)
            out.append(10)
        }
    }

    /// Base64 in lines of 76 characters, CRLF-separated.
    public static func base64Lines(_ bytes: [UInt8]) -> [UInt8] {
        let encoded = Array(Data(bytes).base64EncodedData())
        var out: [UInt8] = []
        out.reserveCapacity(encoded.count + encoded.count / 38 + 2)
        var start = 0
        while start < encoded.count {
            let end = min(start + 76, encoded.count)
            out += encoded[start..<end]
            out += crlf
            start = end
        }
        return out
    }

    public enum TransferEncoding: String, Sendable {
        case quotedPrintable = "quoted-printable"
        case base64
    }

    /// Quoted-printable, or base64 where that is smaller (text in scripts far from ASCII).
    public static func encodeBody(_ text: String) -> (TransferEncoding, [UInt8]) {
        let qp = quotedPrintable(text)
        // Base64 of the CRLF text is about 4/3 of its size (plus line breaks): only build it
        // when it can win.
        let utf8Count = text.utf8.count
        if qp.count > utf8Count * 4 / 3 {
            var crlf: [UInt8] = []
            crlf.reserveCapacity(utf8Count + utf8Count / 20)
            var previous: UInt8 = 0
            for byte in text.utf8 {
                if byte == 10 && previous != 13 { crlf.append(13) }
                crlf.append(byte)
                previous = byte
            }
            let b64 = base64Lines(crlf)
            if b64.count < qp.count { return (.base64, b64) }
        }
        return (.quotedPrintable, qp)
    }

    /// A header value as RFC 2047 encoded-words (UTF-8, base64) when it is not plain ASCII,
    /// split so that no character is split and each word (64 characters) fits a folded header
    /// line of at most 76 even after the header's name.
    public static func encodedWords(_ text: String) -> [String] {
        // Plain ASCII stays readable, unless a word is too long to fold (a header line may not
        // pass 998 characters).
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 && $0.value < 127 }) && !text.contains("=?")
            && !text.split(separator: " ").contains(where: { $0.count > 70 })
        {
            return [text]
        }
        var words: [String] = []
        var chunk: [UInt8] = []
        // Split by scalar, not by grapheme: one grapheme can be longer than a word may be.
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if chunk.count + bytes.count > 39 && !chunk.isEmpty {  // 39 bytes → 52 base64 characters
                words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=")
                chunk = []
            }
            chunk += bytes
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?\(Data(chunk).base64EncodedString())?=") }
        return words
    }

    /// `Name: value` folded at spaces to lines of at most 78 characters where it can be
    /// (a single longer token, such as a URL, keeps its line, still far below 998).
    static func header(_ name: String, _ value: String) -> [UInt8] {
        header(name, words: value.split(separator: " ", omittingEmptySubsequences: false).map(String.init))
    }

    static func header(_ name: String, words: [String]) -> [UInt8] {
        var out: [UInt8] = []
        appendHeader(name, words: words, to: &out)
        return out
    }

    /// `header(name, words:)` appended to `out`, without a buffer of its own.
    static func appendHeader(_ name: String, words: [String], to out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(58)  // ":"
        var column = name.utf8.count + 1
        for word in words where !word.isEmpty {  // an empty word would fold into a blank line
            let count = word.utf8.count
            if column + 1 + count > 78 && column > name.count + 1 {
                out += crlf
                column = 0
            }
            out.append(32)
            out.append(contentsOf: word.utf8)
            column += 1 + count
        }
        out += crlf
    }
}
