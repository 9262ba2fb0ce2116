import Foundation

/// Per-subscriber fields. A draft is rendered once, with placeholders where these go; they are
/// filled for each recipient at send time (and for a sample subscriber in the preview).
public enum Placeholder: String, CaseIterable, Sendable {
    case greeting = "%%GREETING%%"
    case unsubscribeURL = "%%UNSUBSCRIBE_URL%%"
    case preferencesURL = "%%PREFERENCES_URL%%"
}

public struct Personalization: Sendable, Equatable {
    public var name: String?
    public var unsubscribeURL: String
    public var preferencesURL: String

    public init(name: String?, unsubscribeURL: String, preferencesURL: String) {
        self.name = name
        self.unsubscribeURL = unsubscribeURL
        self.preferencesURL = preferencesURL
    }

    public var greeting: String {
        guard let name = name?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty else {
            return "Hi there,"
        }
        return "Hi \(name),"
    }

    /// Fills the placeholders of a rendered draft; in HTML every value is escaped.
    public func fill(_ draft: String, html: Bool) -> String {
        var filled = draft
        for placeholder in Placeholder.allCases {
            let value: String
            switch placeholder {
            case .greeting: value = greeting
            case .unsubscribeURL: value = unsubscribeURL
            case .preferencesURL: value = preferencesURL
            }
            filled = filled.replacingOccurrences(of: placeholder.rawValue, with: html ? HTML.escape(value) : value)
        }
        return filled
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
