import Foundation
import NewsletterCore
import Testing

/// The weekly run's decision: the cutoff, missed weeks and half-sent weeks, in UTC and across
/// daylight-saving changes.
struct RunScheduleTests {
    let berlin = TimeZone(identifier: "Europe/Berlin")!
    let utc = TimeZone(identifier: "UTC")!

    func date(_ text: String) -> Date { PublishedDate.parse(text)! }
    func week(_ text: String) -> IssueWeek { try! IssueWeek(parsing: text) }

    func decide(
        _ week: String, at now: String, zone: TimeZone? = nil, state: RunSchedule.WeekState = .init(),
        cutoff: String? = nil, missed: MissedWeekPolicy = .skip, request: WeekRequest = .scheduled
    ) -> RunSchedule.Decision {
        RunSchedule.decide(
            self.week(week), state: state, now: date(now), timeZone: zone ?? utc,
            cutoff: cutoff.map { RunCutoff(parsing: $0)! }, missed: missed, request: request)
    }

    @Test func cutoffsParse() {
        #expect(RunCutoff(parsing: "36h") == .hours(36))
        #expect(RunCutoff(parsing: " 3D ") == .days(3))
        #expect(RunCutoff(parsing: "3d")?.description == "3d")
        for bad in ["", "h", "0d", "-1h", "3w", "3", "three days", "1.5d", "99999d"] {
            #expect(RunCutoff(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func aWeekThatHasNotEndedIsSentOnTime() {
        // 2026-W47 is 16–22 November; it ends at Monday 23 November 00:00 UTC.
        #expect(decide("2026-W47", at: "2026-11-22T23:59:59Z", cutoff: "1h") == .send(lateBy: 0))
        #expect(decide("2026-W47", at: "2026-11-23T00:00:00Z", cutoff: "1h") == .send(lateBy: 0))
        #expect(decide("2026-W47", at: "2026-11-23T06:00:00Z") == .send(lateBy: 6 * 3600))
    }

    @Test func theCutoffIsHalfOpenAndCountedFromTheWeeksEnd() {
        #expect(decide("2026-W47", at: "2026-11-25T23:59:59Z", cutoff: "3d").proceeds)
        let expired = decide("2026-W47", at: "2026-11-26T00:00:00Z", cutoff: "3d")
        #expect(!expired.proceeds)
        #expect(expired.skipReason?.contains("run.cutoff = 3d") == true)
        #expect(decide("2026-W47", at: "2026-11-24T11:59:59Z", cutoff: "36h").proceeds)
        #expect(!decide("2026-W47", at: "2026-11-24T12:00:00Z", cutoff: "36h").proceeds)
    }

    @Test func theWeekDSTEndsInEndsAtLocalMidnightAnHourLater() {
        // 2026-W43 (19–25 October) in Berlin holds the change back to CET: 169 hours, ending
        // Monday 26 October 00:00 CET = 25 October 23:00 UTC.
        #expect(decide("2026-W43", at: "2026-10-25T22:59:59Z", zone: berlin) == .send(lateBy: 0))
        #expect(decide("2026-W43", at: "2026-10-25T23:30:00Z", zone: berlin) == .send(lateBy: 1800))
        // "1d" is the next local midnight.
        #expect(decide("2026-W43", at: "2026-10-26T22:59:59Z", zone: berlin, cutoff: "1d").proceeds)
        #expect(!decide("2026-W43", at: "2026-10-26T23:00:00Z", zone: berlin, cutoff: "1d").proceeds)
    }

    @Test func daysAreCalendarDaysAndHoursAreElapsedHoursAcrossADSTChange() {
        // 2026-W42 ends Monday 19 October 00:00 CEST (18 October 22:00 UTC). Seven days later is
        // Monday 26 October 00:00 CET (25 October 23:00 UTC), 169 hours on; 168h ends an hour sooner.
        let now = "2026-10-25T22:30:00Z"
        #expect(decide("2026-W42", at: now, zone: berlin, cutoff: "7d", missed: .sendLate).proceeds)
        #expect(!decide("2026-W42", at: now, zone: berlin, cutoff: "168h", missed: .sendLate).proceeds)
        // Spring forward: 2026-W13 (23–29 March) is 167 hours long and ends 29 March 22:00 UTC.
        #expect(decide("2026-W13", at: "2026-03-29T21:59:59Z", zone: berlin) == .send(lateBy: 0))
        #expect(decide("2026-W13", at: "2026-03-29T22:00:00Z", zone: berlin, cutoff: "1h").proceeds)
        #expect(!decide("2026-W13", at: "2026-03-29T23:00:00Z", zone: berlin, cutoff: "1h").proceeds)
    }

    @Test func aWeekNoRunSawUntilTheWeekAfterEndedIsMissed() {
        // 2026-W47's following week ends 30 November 00:00 UTC.
        let skipped = decide("2026-W47", at: "2026-11-30T00:00:00Z")
        #expect(skipped.skipReason?.hasPrefix("missed:") == true)
        #expect(decide("2026-W47", at: "2026-11-29T23:59:59Z").proceeds)
        #expect(
            decide("2026-W47", at: "2026-12-14T08:00:00Z", missed: .sendLate) == .send(lateBy: 21 * 86400 + 8 * 3600))
        // A run saw the week in time (it waited for approval): late, but not missed.
        let seen = RunSchedule.WeekState(status: .draft, firstRunAt: date("2026-11-23T06:00:00Z"))
        #expect(decide("2026-W47", at: "2026-12-14T08:00:00Z", state: seen).proceeds)
        // A first run after the following week ended does not count as seeing it in time.
        let seenLate = RunSchedule.WeekState(status: .draft, firstRunAt: date("2026-11-30T00:00:00Z"))
        #expect(!decide("2026-W47", at: "2026-12-14T08:00:00Z", state: seenLate).proceeds)
    }

    @Test func theCutoffWinsOverSendingAMissedWeekLate() {
        let decision = decide("2026-W47", at: "2026-12-14T08:00:00Z", cutoff: "10d", missed: .sendLate)
        #expect(decision.skipReason?.hasPrefix("not sent by the cutoff") == true)
        #expect(decide("2026-W47", at: "2026-12-02T08:00:00Z", cutoff: "10d", missed: .sendLate).proceeds)
    }

    @Test func missedAcrossTheYearBoundary() {
        // 2026-W53 ends 4 January 2027; the week after it, 2027-W01, ends 11 January.
        #expect(decide("2026-W53", at: "2027-01-10T23:59:59Z").proceeds)
        #expect(!decide("2026-W53", at: "2027-01-11T00:00:00Z").proceeds)
    }

    @Test func sentSkippedAndHalfSentWeeksIgnoreTheClock() {
        let late = "2027-06-01T00:00:00Z"
        #expect(decide("2026-W47", at: late, state: .init(status: .sent), cutoff: "1h") == .alreadySent)
        #expect(
            decide("2026-W47", at: late, state: .init(status: .skipped, skipReason: "thin"))
                == .alreadySkipped(reason: "thin"))
        // Delivery began: the rest of the list gets what the others got, cutoff or not.
        #expect(
            decide("2026-W47", at: late, state: .init(status: .approved, deliveryStarted: true), cutoff: "1h")
                == .finishSending)
        #expect(decide("2026-W47", at: late, state: .init(status: .approved, deliveryStarted: true)).proceeds)
    }

    @Test func aWeekAnEditorNamesIsBuiltHoweverLateButNeverSentTwice() {
        let months = "2027-06-01T00:00:00Z"
        let lateBy = date(months).timeIntervalSince(date("2026-11-23T00:00:00Z"))
        // What cron would skip (missed, past the cutoff, skipped earlier), the editor's week builds.
        #expect(
            decide("2026-W47", at: months, missed: .skip)
                == .skipMissed(reason: decide("2026-W47", at: months).skipReason!))
        #expect(decide("2026-W47", at: months, missed: .skip, request: .named) == .send(lateBy: lateBy))
        #expect(!decide("2026-W47", at: months, cutoff: "1h", missed: .sendLate).proceeds)
        #expect(decide("2026-W47", at: months, cutoff: "1h", request: .named) == .send(lateBy: lateBy))
        #expect(
            decide("2026-W47", at: months, state: .init(status: .skipped, skipReason: "missed: …"), request: .named)
                == .send(lateBy: lateBy))
        #expect(decide("2026-W47", at: "2026-11-20T00:00:00Z", request: .named) == .send(lateBy: 0))
        // What is sent or half sent stays so, whoever asks.
        #expect(decide("2026-W47", at: months, state: .init(status: .sent), request: .named) == .alreadySent)
        #expect(
            decide("2026-W47", at: months, state: .init(status: .approved, deliveryStarted: true), request: .named)
                == .finishSending)
    }

    @Test func theWeeksAMachineThatWasOffNeverRan() {
        #expect(RunSchedule.missedWeeks(after: nil, before: week("2026-W48")).isEmpty)  // the first run ever
        #expect(RunSchedule.missedWeeks(after: week("2026-W47"), before: week("2026-W48")).isEmpty)
        #expect(RunSchedule.missedWeeks(after: week("2026-W48"), before: week("2026-W48")).isEmpty)
        #expect(RunSchedule.missedWeeks(after: week("2026-W49"), before: week("2026-W48")).isEmpty)
        #expect(
            RunSchedule.missedWeeks(after: week("2026-W45"), before: week("2026-W48"))
                == [week("2026-W46"), week("2026-W47")])
        #expect(
            RunSchedule.missedWeeks(after: week("2026-W52"), before: week("2027-W02"))
                == [week("2026-W53"), week("2027-W01")])
        #expect(
            RunSchedule.missedWeeks(after: week("2020-W01"), before: week("2026-W48"), limit: 3)
                == [week("2026-W45"), week("2026-W46"), week("2026-W47")])
    }
}
