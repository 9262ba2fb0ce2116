import Foundation

/// Per-subscriber fields. A draft is rendered once, with placeholders where these go; they are
/// filled for each recipient at send time (and for a sample subscriber in the preview).
public enum Placeholder: String, CaseIterable, Sendable {
    case greeting = "%%GREETING%%"
    case unsubscribeURL = "%%UNSUBSCRIBE_URL%%"
    case preferencesURL = "%%PREFERENCES_URL%%"
    /// After each `/r/{id}` under `tracking.clicks = "per-reader"`: the reader's own click
    /// token as a second path segment (`/TOKEN`); empty in previews, test sends and the archive.
    case clickReader = "%%CLICK_READER%%"
}

extension Placeholder {
    /// The placeholder's UTF-8, as it stands in a draft.
    var bytes: [UInt8] { Array(rawValue.utf8) }

    /// The placeholder that starts at `index` of `bytes`, with the same precedence as `fill`
    /// (the first in `allCases` that matches).
    static func match(in bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Placeholder? {
        guard bytes[index] == 37, index + 1 < bytes.count, bytes[index + 1] == 37 else { return nil }
        return allCases.first { candidate in
            let token = candidate.rawValue.utf8
            return index + token.count <= bytes.count && zip(token, bytes[index...]).allSatisfy { $0 == $1 }
        }
    }
}

/// One subscriber's placeholder values as UTF-8 bytes.
public struct PlaceholderValues: Sendable, Equatable {
    public var greeting: [UInt8]
    public var unsubscribeURL: [UInt8]
    public var preferencesURL: [UInt8]
    public var clickReader: [UInt8] = []

    public subscript(placeholder: Placeholder) -> [UInt8] {
        switch placeholder {
        case .greeting: greeting
        case .unsubscribeURL: unsubscribeURL
        case .preferencesURL: preferencesURL
        case .clickReader: clickReader
        }
    }
}

public struct Personalization: Sendable, Equatable {
    public var name: String?
    public var unsubscribeURL: String
    public var preferencesURL: String
    /// Text in place of the greeting (the public archive greets nobody).
    public var greetingOverride: String?
    /// What follows each tracked link's id: `/` and the reader's click token under
    /// `per-reader`, else nothing (the link counts for nobody in particular).
    public var clickReader = ""

    public init(name: String?, unsubscribeURL: String, preferencesURL: String, greetingOverride: String? = nil) {
        self.name = name
        self.unsubscribeURL = unsubscribeURL
        self.preferencesURL = preferencesURL
        self.greetingOverride = greetingOverride
    }

    public var greeting: String {
        if let greetingOverride { return greetingOverride }
        guard let name = name.map(Self.trimmed), !name.isEmpty else {
            return "Hi there,"
        }
        return "Hi \(name),"
    }

    /// The name without surrounding white space. Most names begin and end with a visible ASCII
    /// byte and need no trimming; only the others go through Foundation's (Unicode) trim, which
    /// was a measurable part of each message.
    static func trimmed(_ name: String) -> String {
        func visibleASCII(_ byte: UInt8?) -> Bool { byte.map { $0 > 0x20 && $0 < 0x7F } ?? false }
        if visibleASCII(name.utf8.first) && visibleASCII(name.utf8.last) { return name }
        return name.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Fills the placeholders of a rendered draft; in HTML every value is escaped. One pass
    /// over the UTF-8 bytes: this runs once per recipient on tens of kilobytes.
    public func fill(_ draft: String, html: Bool) -> String {
        let filled = values(html: html)
        let values = Placeholder.allCases.map { (token: $0.bytes, value: filled[$0]) }
        var input = Array(draft.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(input.count + 256)
        var index = 0
        input.withUnsafeMutableBufferPointer { bytes in
            while index < bytes.count {
                if bytes[index] == 37, index + 1 < bytes.count, bytes[index + 1] == 37,
                    let match = values.first(where: { candidate in
                        index + candidate.token.count <= bytes.count
                            && candidate.token.indices.allSatisfy { bytes[index + $0] == candidate.token[$0] }
                    })
                {
                    out.append(contentsOf: match.value)
                    index += match.token.count
                } else {
                    out.append(bytes[index])
                    index += 1
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// What each placeholder becomes for this subscriber, as UTF-8 (HTML-escaped for HTML).
    public func values(html: Bool) -> PlaceholderValues {
        func bytes(_ value: String) -> [UInt8] { Array((html ? HTML.escape(value) : value).utf8) }
        return PlaceholderValues(
            greeting: bytes(greeting), unsubscribeURL: bytes(unsubscribeURL), preferencesURL: bytes(preferencesURL),
            clickReader: bytes(clickReader))
    }

    /// Page text must never be able to pose as a placeholder and be filled at send time.
    static func defuse(_ text: String) -> String {
        text.replacingOccurrences(of: "%%", with: "%\u{2060}%")
    }
}

public enum HTML {
    public static func escape(_ text: String) -> String {
        // By bytes, not Characters: every special character is one ASCII byte, and a Character
        // is a whole grapheme, so `"` followed by a combining mark would be one Character that
        // matches no case and would reach the page unescaped, ending an attribute. (It is also
        // what the send does per reader, on names and links.)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 16)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out += "&amp;".utf8
            case UInt8(ascii: "<"): out += "&lt;".utf8
            case UInt8(ascii: ">"): out += "&gt;".utf8
            case UInt8(ascii: "\""): out += "&quot;".utf8
            case UInt8(ascii: "'"): out += "&#39;".utf8
            default: out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
