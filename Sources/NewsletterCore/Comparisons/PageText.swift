import Foundation

/// One non-blank line of a page, with the line it stands on in the source, for error messages.
struct PageLine: Equatable, Sendable {
    var text: String
    var line: Int
}

/// Turns a page's raw bytes into text, refusing what is not a text page before any parsing.
enum PageText {
    /// Decodes UTF-8 (a BOM is dropped), naming the line of the first byte that is not UTF-8.
    /// Every line ending (CRLF, a lone CR, LF) comes out as one LF: this is the one place where a
    /// page's bytes become text, so nothing after it has to know how the page was saved (Swift
    /// reads "\r\n" as one Character, which a split on "\n" would not split).
    static func decode(_ bytes: [UInt8]) throws(LayoutError) -> String {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw LayoutError(kind: .empty, message: "the page is empty")
        }
        if let nul = body.firstIndex(of: 0) {
            throw LayoutError(
                line: lineNumber(of: nul, in: body), kind: .binary,
                message: "the page holds a NUL byte at offset \(nul): this is binary data, not a page")
        }
        if let bad = firstInvalidUTF8Offset(body) {
            throw LayoutError(
                line: lineNumber(of: bad, in: body), kind: .invalidUTF8,
                message: "byte offset \(bad) is not valid UTF-8; save the page as UTF-8")
        }
        return String(decoding: unifyingLineEndings(body), as: UTF8.self)
    }

    /// The bytes with each CRLF and each lone CR replaced by LF.
    static func unifyingLineEndings(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        guard bytes.contains(0x0D) else { return Array(bytes) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            guard byte == 0x0D else {
                out.append(byte)
                continue
            }
            out.append(0x0A)
            if index < bytes.endIndex && bytes[index] == 0x0A { index += 1 }
        }
        return out
    }

    /// The non-blank lines of a plain-text dump, trimmed, with their 1-based line numbers.
    static func lines(of text: String) -> [PageLine] {
        var result: [PageLine] = []
        var number = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let trimmed = normalizeSpaces(raw)
            if !trimmed.isEmpty { result.append(PageLine(text: trimmed, line: number)) }
        }
        return result
    }

    /// Collapses runs of white space (including no-break spaces and CR) to one space and trims;
    /// other control characters (C0, DEL, C1) are dropped, so that page text cannot drive a
    /// terminal (escape sequences) wherever it is printed.
    static func normalizeSpaces<S: StringProtocol>(_ text: S) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            if scalar.properties.generalCategory == .control && !scalar.properties.isWhitespace {
                continue
            }
            if scalar.properties.isWhitespace || scalar == "\u{00A0}" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The 1-based line of `offset`, counting CRLF, a lone CR and LF each as one line ending.
    private static func lineNumber(of offset: Int, in body: ArraySlice<UInt8>) -> Int {
        var line = 1
        var index = body.startIndex
        while index < offset {
            switch body[index] {
            case 0x0A: line += 1
            case 0x0D where index + 1 >= body.endIndex || body[index + 1] != 0x0A: line += 1
            default: break
            }
            index += 1
        }
        return line
    }

    /// A strict UTF-8 check (no overlong forms, no surrogates) that says where it failed.
    private static func firstInvalidUTF8Offset(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return index
            }
            guard index + length <= bytes.endIndex else { return index }
            var scalar = UInt32(lead) & (0xFF >> (length + 1))
            for next in bytes[(index + 1)..<(index + length)] {
                guard next & 0xC0 == 0x80 else { return index }
                scalar = scalar << 6 | UInt32(next & 0x3F)
            }
            let overlong = (length == 3 && scalar < 0x800) || (length == 4 && scalar < 0x10000)
            if overlong || scalar > 0x10FFFF || (0xD800...0xDFFF).contains(scalar) { return index }
            index += length
        }
        return nil
    }
}
