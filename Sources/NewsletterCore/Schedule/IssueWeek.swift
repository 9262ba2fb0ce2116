import Foundation

/// An ISO 8601 week, the key of an issue: `2026-W48`.
///
/// An issue covers the comparisons published in its week's half-open window
/// [Monday 00:00, next Monday 00:00), counted in the configured time zone, so a page published at
/// Sunday 23:59:59 local time belongs to one issue and one at Monday 00:00:00 to the next, across
/// daylight-saving changes and year boundaries alike.
public struct IssueWeek: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let year: Int
    public let week: Int

    public init(year: Int, week: Int) throws(WeekError) {
        // 9998 at most: every week must have a next one to end its window.
        guard (1...9998).contains(year) else { throw .invalid("year \(year) is out of range (1–9998)") }
        let weeks = Self.weeksInYear(year)
        guard (1...weeks).contains(week) else {
            throw .invalid("\(year) has \(weeks) ISO weeks; there is no week \(week)")
        }
        self.year = year
        self.week = week
    }

    /// Parses `2026-W48` (also `2026W48` and lowercase `w`).
    public init(parsing text: String) throws(WeekError) {
        // Exactly four digits, an optional hyphen, W, two digits.
        let characters = Array(text.trimmingCharacters(in: .whitespaces).uppercased())
        let hyphen = characters.count == 8 && characters[4] == "-"
        let digits =
            hyphen ? Array(characters[0..<4] + characters[6...]) : Array(characters.prefix(4) + characters.dropFirst(5))
        guard characters.count == (hyphen ? 8 : 7), characters[hyphen ? 5 : 4] == "W", digits.count == 6,
            digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let year = Int(String(digits[0..<4])), let week = Int(String(digits[4...]))
        else {
            throw .notAWeek(text)
        }
        try self.init(year: year, week: week)
    }

    /// The ISO week containing `date` in `timeZone`.
    public static func containing(_ date: Date, in timeZone: TimeZone) -> IssueWeek {
        let components = calendar(timeZone).dateComponents([.yearForWeekOfYear, .weekOfYear], from: date)
        // Both components always exist for the ISO calendar, and the week is always valid.
        return try! IssueWeek(year: components.yearForWeekOfYear!, week: components.weekOfYear!)
    }

    /// [Monday 00:00, next Monday 00:00) in `timeZone`.
    public func window(in timeZone: TimeZone) -> DateInterval {
        DateInterval(start: monday(in: timeZone), end: next.monday(in: timeZone))
    }

    /// Whether `date` falls in the half-open window (`DateInterval.contains` includes the end).
    public func includes(_ date: Date, in timeZone: TimeZone) -> Bool {
        let window = window(in: timeZone)
        return date >= window.start && date < window.end
    }

    public var previous: IssueWeek {
        week > 1
            ? try! IssueWeek(year: year, week: week - 1)
            : try! IssueWeek(year: year - 1, week: Self.weeksInYear(year - 1))
    }

    public var next: IssueWeek {
        week < Self.weeksInYear(year)
            ? try! IssueWeek(year: year, week: week + 1) : try! IssueWeek(year: year + 1, week: 1)
    }

    public var description: String { String(format: "%04d-W%02d", year, week) }

    public static func < (lhs: IssueWeek, rhs: IssueWeek) -> Bool {
        (lhs.year, lhs.week) < (rhs.year, rhs.week)
    }

    /// 53 when 28 December falls in week 53 (years starting on a Thursday, and leap years
    /// starting on a Wednesday), else 52.
    public static func weeksInYear(_ year: Int) -> Int {
        func weekday(ofJanuaryFirst year: Int) -> Int {  // 0 = Monday … 6 = Sunday
            let y = year - 1
            return (y + y / 4 - y / 100 + y / 400) % 7
        }
        let first = weekday(ofJanuaryFirst: year)
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return first == 3 || (leap && first == 2) ? 53 : 52
    }

    private func monday(in timeZone: TimeZone) -> Date {
        var components = DateComponents()
        components.yearForWeekOfYear = year
        components.weekOfYear = week
        components.weekday = 2
        components.hour = 0
        return Self.calendar(timeZone).date(from: components)!
    }

    private static func calendar(_ timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = timeZone
        return calendar
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try IssueWeek(parsing: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

public enum WeekError: Error, Equatable, CustomStringConvertible {
    case notAWeek(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notAWeek(let text): "\"\(text)\" is not an ISO week; write it like 2026-W48"
        case .invalid(let reason): reason
        }
    }
}
