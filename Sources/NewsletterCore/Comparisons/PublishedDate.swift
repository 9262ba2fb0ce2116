import Foundation

/// Reads the dates pages, feeds and the command line give: RFC 3339 / ISO 8601 (date or date
/// and time), RFC 822 (RSS), and "November 17, 2026". A date without a time means midnight UTC.
public enum PublishedDate {
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        for formatter in iso8601 {
            if let date = formatter.date(from: trimmed) { return date }
        }
        for format in patterns {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }

    private static var iso8601: [ISO8601DateFormatter] {
        let options: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime, .withFractionalSeconds],
            [.withInternetDateTime],
            [.withFullDate],
        ]
        return options.map {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = $0
            formatter.timeZone = TimeZone(identifier: "UTC")
            return formatter
        }
    }

    private static let patterns = [
        "EEE, d MMM yyyy HH:mm:ss Z", "EEE, d MMM yyyy HH:mm:ss zzz", "d MMM yyyy HH:mm:ss Z",
        "EEE, d MMM yyyy HH:mm Z", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss", "MMMM d, yyyy", "MMM d, yyyy",
        "d MMMM yyyy",
    ]
}
