import Foundation

/// When something happened, as the editor pages show it: to the minute, in UTC
/// (`2026-12-05 08:51 UTC`). The machine form (`2026-12-05T08:51:04.053Z`) took three lines of a
/// phone's table cell for each time and said more than an editor reads.
enum EditorTime {
    static func text(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var fields = tm()
        guard gmtime_r(&seconds, &fields) != nil else { return "\(date)" }
        return String(
            format: "%04d-%02d-%02d %02d:%02d UTC", fields.tm_year + 1900, fields.tm_mon + 1, fields.tm_mday,
            fields.tm_hour, fields.tm_min)
    }
}
