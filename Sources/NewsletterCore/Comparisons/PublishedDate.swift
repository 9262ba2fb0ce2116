import Foundation

/// Reads the dates pages, feeds and the command line give: RFC 3339 / ISO 8601 (date or date
/// and time), RFC 822 (RSS), and "November 17, 2026". A date without a time means midnight UTC.
public enum PublishedDate {
    public static func parse(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        // A bare date must be exactly a date: ISO8601DateFormatter's date-only mode would
        // otherwise accept "2026-11-22T23:30" and silently drop the time.
        let dateOnly = trimmed.count == 10
        for formatter in iso8601 where dateOnly == (formatter.formatOptions == [.withFullDate]) {
            if let date = formatter.date(from: trimmed), roundTrips(trimmed, date, formatter) { return date }
        }
        for format in patterns {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = format
            formatter.isLenient = false
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }

    /// Rejects impossible calendar dates that the formatter rolls over (30 February → 2 March).
    private static func roundTrips(_ text: String, _ date: Date, _ formatter: ISO8601DateFormatter) -> Bool {
        guard formatter.formatOptions == [.withFullDate] else { return true }
        return formatter.string(from: date) == text
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
