import Foundation

/// The readable text of a message as sent: every body part decoded from base64 or
/// quoted-printable, so a test can look for words in it.
enum MessageText {
    static func decoded(_ message: String) -> String {
        let lines = message.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")
        var out: [String] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            let lower = line.lowercased()
            guard lower.hasPrefix("content-transfer-encoding:") else {
                out.append(line)
                index += 1
                continue
            }
            let base64 = lower.contains("base64")
            // Skip to the part's blank line, then take the body up to the next boundary.
            while index < lines.count && !lines[index].isEmpty { index += 1 }
            index += 1
            var body: [String] = []
            while index < lines.count && !lines[index].hasPrefix("--") {
                body.append(lines[index])
                index += 1
            }
            if base64 {
                out.append(String(decoding: Data(base64Encoded: body.joined()) ?? Data(), as: UTF8.self))
            } else {
                out.append(quotedPrintable(body.joined(separator: "\n")))
            }
        }
        return out.joined(separator: "\n")
    }

    static func quotedPrintable(_ text: String) -> String {
        var bytes: [UInt8] = []
        let input = Array(text.replacingOccurrences(of: "=\n", with: "").utf8)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "="), index + 2 < input.count,
                let value = UInt8(String(decoding: input[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(input[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
