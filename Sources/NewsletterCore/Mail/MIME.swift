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
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        var lines = text.utf8.split(separator: 10, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true && lines.count > 1 { lines.removeLast() }  // a final newline is not a line
        for (number, rawLine) in lines.enumerated() {
            var line = rawLine[...]
            if line.last == 13 { line = line.dropLast() }
            var column = 0
            var index = line.startIndex
            while index < line.endIndex {
                let byte = line[index]
                let isLast = line.index(after: index) == line.endIndex
                let literal = (byte >= 33 && byte <= 126 && byte != 61) || ((byte == 32 || byte == 9) && !isLast)
                let width = literal ? 1 : 3
                // Keep room for the soft break "=" unless this is the line's last character.
                if column + width > (isLast ? 76 : 75) {
                    out += [61] + crlf
                    column = 0
                }
                if literal {
                    out.append(byte)
                } else {
                    out += [61, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
                }
                column += width
                index = line.index(after: index)
            }
            if number < lines.count - 1 || text.utf8.last == 10 { out += crlf }
        }
        return out
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
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n")
        let qp = quotedPrintable(normalized)
        // Base64 of the CRLF text is about 4/3 of its size; only compute it when it can win.
        let crlfBytes = Array(normalized.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        if qp.count > crlfBytes.count * 4 / 3 + crlfBytes.count / 57 * 2 {
            let b64 = base64Lines(crlfBytes)
            if b64.count < qp.count { return (.base64, b64) }
        }
        return (.quotedPrintable, qp)
    }

    /// A header value as RFC 2047 encoded-words (UTF-8, base64) when it is not plain ASCII,
    /// split so that no character is split and each word (64 characters) fits a folded header
    /// line of at most 76 even after the header's name.
    public static func encodedWords(_ text: String) -> [String] {
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 32 && $0.value < 127 }) && !text.contains("=?") {
            return [text]
        }
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let bytes = Array(String(character).utf8)
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
        var out = Array("\(name):".utf8)
        var column = out.count
        for word in words {
            if column + 1 + word.utf8.count > 78 && column > name.count + 1 {
                out += crlf
                column = 0
            }
            out.append(32)
            out += Array(word.utf8)
            column += 1 + word.utf8.count
        }
        return out + crlf
    }
}
