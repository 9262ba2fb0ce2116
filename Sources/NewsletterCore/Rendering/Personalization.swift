import Foundation

/// Per-subscriber fields. A draft is rendered once, with placeholders where these go; they are
/// filled for each recipient at send time (and for a sample subscriber in the preview).
public enum Placeholder: String, CaseIterable, Sendable {
    case greeting = "%%GREETING%%"
    case unsubscribeURL = "%%UNSUBSCRIBE_URL%%"
    case preferencesURL = "%%PREFERENCES_URL%%"
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

    public subscript(placeholder: Placeholder) -> [UInt8] {
        switch placeholder {
        case .greeting: greeting
        case .unsubscribeURL: unsubscribeURL
        case .preferencesURL: preferencesURL
        }
    }
}

public struct Personalization: Sendable, Equatable {
    public var name: String?
    public var unsubscribeURL: String
    public var preferencesURL: String
    /// Text in place of the greeting (the public archive greets nobody).
    public var greetingOverride: String?

    public init(name: String?, unsubscribeURL: String, preferencesURL: String, greetingOverride: String? = nil) {
        self.name = name
        self.unsubscribeURL = unsubscribeURL
        self.preferencesURL = preferencesURL
        self.greetingOverride = greetingOverride
    }

    public var greeting: String {
        if let greetingOverride { return greetingOverride }
        guard let name = name?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else {
            return "Hi there,"
        }
        return "Hi \(name),"
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
            greeting: bytes(greeting), unsubscribeURL: bytes(unsubscribeURL), preferencesURL: bytes(preferencesURL))
    }

    /// Page text must never be able to pose as a placeholder and be filled at send time.
    static func defuse(_ text: String) -> String {
        text.replacingOccurrences(of: "%%", with: "%\u{2060}%")
    }
}

public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
