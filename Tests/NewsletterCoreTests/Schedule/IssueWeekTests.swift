import Foundation
import NewsletterCore
import Testing

struct IssueWeekTests {
    let berlin = TimeZone(identifier: "Europe/Berlin")!
    let utc = TimeZone(identifier: "UTC")!

    func date(_ text: String) -> Date { PublishedDate.parse(text)! }

    @Test func parsesAndPrintsTheISOForm() throws {
        #expect(try IssueWeek(parsing: "2026-W48").description == "2026-W48")
        #expect(try IssueWeek(parsing: "2026w05") == IssueWeek(year: 2026, week: 5))
        for bad in ["2026-48", "W48", "2026-W4", "26-W48", "2026-W00", "next week", ""] {
            #expect(throws: WeekError.self, "\(bad)") { try IssueWeek(parsing: bad) }
        }
    }

    @Test func week53ExistsOnlyInLongYears() throws {
        #expect(IssueWeek.weeksInYear(2026) == 53)  // 2026 starts on a Thursday
        #expect(IssueWeek.weeksInYear(2027) == 52)
        #expect(IssueWeek.weeksInYear(2020) == 53)  // leap year starting on a Wednesday
        #expect(throws: WeekError.invalid("2027 has 52 ISO weeks; there is no week 53")) {
            try IssueWeek(parsing: "2027-W53")
        }
        let w53 = try IssueWeek(parsing: "2026-W53")
        #expect(w53.next == (try IssueWeek(parsing: "2027-W01")))
        #expect((try IssueWeek(parsing: "2027-W01")).previous == w53)
    }

    @Test func yearBoundaryWindows() throws {
        let w53 = try IssueWeek(parsing: "2026-W53").window(in: utc)
        #expect(w53.start == date("2026-12-28T00:00:00Z"))
        #expect(w53.end == date("2027-01-04T00:00:00Z"))
        // 1 January 2027 (a Friday) still belongs to 2026-W53.
        #expect(IssueWeek.containing(date("2027-01-01T12:00:00Z"), in: utc).description == "2026-W53")
        #expect(IssueWeek.containing(date("2027-01-04T00:00:00Z"), in: utc).description == "2027-W01")
    }

    @Test func sundayNightAndMondayMidnightInAZoneThatIsNotUTC() throws {
        // 2026-W47 runs from Monday 16 Nov to Monday 23 Nov, Berlin time (UTC+1 in November).
        let window = try IssueWeek(parsing: "2026-W47").window(in: berlin)
        #expect(window.start == date("2026-11-15T23:00:00Z"))
        let sundayLastSecond = date("2026-11-22T22:59:59Z")  // Sunday 23:59:59 in Berlin
        let mondayMidnight = date("2026-11-22T23:00:00Z")  // Monday 00:00:00 in Berlin
        let week = try IssueWeek(parsing: "2026-W47")
        #expect(week.includes(sundayLastSecond, in: berlin))
        #expect(!week.includes(mondayMidnight, in: berlin))  // half-open
        #expect(week.includes(window.start, in: berlin))
        #expect(IssueWeek.containing(sundayLastSecond, in: berlin).description == "2026-W47")
        #expect(IssueWeek.containing(mondayMidnight, in: berlin).description == "2026-W48")
        // The same instant is still in W47 when counted in UTC.
        #expect(IssueWeek.containing(mondayMidnight, in: utc).description == "2026-W47")
    }

    @Test func weeksWithADaylightSavingChangeAreAnHourShortOrLong() throws {
        // Berlin leaves summer time on Sunday 25 October 2026 (2026-W43) and enters it on
        // Sunday 29 March 2026 (2026-W13).
        let autumn = try IssueWeek(parsing: "2026-W43").window(in: berlin)
        #expect(autumn.duration == 7 * 86400 + 3600)
        #expect(autumn.start == date("2026-10-18T22:00:00Z"))
        #expect(autumn.end == date("2026-10-25T23:00:00Z"))
        let spring = try IssueWeek(parsing: "2026-W13").window(in: berlin)
        #expect(spring.duration == 7 * 86400 - 3600)
    }
}
