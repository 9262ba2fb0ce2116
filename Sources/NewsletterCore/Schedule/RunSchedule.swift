import Foundation

/// How late a week's issue may still go out, measured from the end of the week (next Monday
/// 00:00 in `time_zone`). Days are calendar days in that zone, so "3d" after a week that ends
/// as daylight saving changes is still Thursday 00:00 local time; hours are elapsed hours.
public enum RunCutoff: Sendable, Equatable, CustomStringConvertible {
    case hours(Int)
    case days(Int)

    /// Parses `"36h"` or `"3d"`.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard let unit = trimmed.last, let amount = Int(trimmed.dropLast()), amount > 0, amount <= 10_000 else {
            return nil
        }
        switch unit {
        case "h": self = .hours(amount)
        case "d": self = .days(amount)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .hours(let hours): "\(hours)h"
        case .days(let days): "\(days)d"
        }
    }

    /// The moment after which a week that ended at `end` is no longer sent.
    public func deadline(after end: Date, in timeZone: TimeZone) -> Date {
        switch self {
        case .hours(let hours): return end.addingTimeInterval(Double(hours) * 3600)
        case .days(let days):
            var calendar = Calendar(identifier: .iso8601)
            calendar.timeZone = timeZone
            return calendar.date(byAdding: .day, value: days, to: end)!
        }
    }
}

/// What to do with a week nobody ran while it was due (the machine was off for more than a week).
public enum MissedWeekPolicy: String, Sendable, Equatable, CaseIterable {
    /// Send it now, late, as long as the cutoff allows.
    case sendLate = "send-late"
    /// Record it as skipped, with the reason.
    case skip
}

/// Who chose the week a run works on.
public enum WeekRequest: String, Sendable, Equatable {
    /// The schedule did (`newsletter run` from cron, the week `issue.week` names): the cutoff and
    /// the missed-week policy guard against sending stale news unattended.
    case scheduled
    /// An editor named it (`newsletter run --week W`): that is a decision the schedule's rules
    /// would only second-guess, so they do not apply.
    case named
}

/// Decides, from the clock and what the store knows, whether a run may still send a week.
///
/// The rules, in order:
/// 1. A sent week is done.
/// 2. A week whose sending has begun is finished, whatever the time: the rest of the list gets
///    what the others already got.
/// 3. A week an editor named is built now (and sent if approved), however late, even if an
///    earlier run set it aside: building it decides again whether it has enough comparisons.
/// 4. A skipped week is done.
/// 5. Past the cutoff (`run.cutoff` after the week's end) an unsent week is no longer sent.
/// 6. A week is *missed* when no run saw it before the week after it ended too (the machine
///    was off for more than a week): `run.missed` sends it late or skips it.
/// 7. Otherwise it is sent (late by however long the run comes after the week's end).
public enum RunSchedule {
    public struct WeekState: Sendable, Equatable {
        public var status: IssueStatus?
        public var skipReason: String?
        public var deliveryStarted: Bool
        /// When a run first worked on this week, if one ever did.
        public var firstRunAt: Date?

        public init(
            status: IssueStatus? = nil, skipReason: String? = nil, deliveryStarted: Bool = false,
            firstRunAt: Date? = nil
        ) {
            self.status = status
            self.skipReason = skipReason
            self.deliveryStarted = deliveryStarted
            self.firstRunAt = firstRunAt
        }
    }

    public enum Decision: Sendable, Equatable, CustomStringConvertible {
        /// Build and send (if approved). `lateBy` is how long after the week's end this run is (0 before it).
        case send(lateBy: TimeInterval)
        /// Delivery already began: finish it.
        case finishSending
        case alreadySent
        case alreadySkipped(reason: String)
        /// The cutoff passed before it was sent.
        case pastCutoff(reason: String)
        /// Missed and `run.missed = "skip"`.
        case skipMissed(reason: String)

        /// True when this run should go on to build and send.
        public var proceeds: Bool {
            switch self {
            case .send, .finishSending: true
            default: false
            }
        }

        public var description: String {
            switch self {
            case .send(let lateBy): lateBy > 0 ? "send, \(RunSchedule.describe(lateBy)) after the week ended" : "send"
            case .finishSending: "finish sending"
            case .alreadySent: "already sent"
            case .alreadySkipped(let reason): "already skipped: \(reason)"
            case .pastCutoff(let reason), .skipMissed(let reason): "skip: \(reason)"
            }
        }

        /// The reason to record when the week is set aside.
        public var skipReason: String? {
            switch self {
            case .pastCutoff(let reason), .skipMissed(let reason): reason
            default: nil
            }
        }
    }

    public static func decide(
        _ week: IssueWeek, state: WeekState, now: Date, timeZone: TimeZone, cutoff: RunCutoff?,
        missed: MissedWeekPolicy, request: WeekRequest = .scheduled
    ) -> Decision {
        if state.status == .sent { return .alreadySent }
        if state.deliveryStarted { return .finishSending }
        let end = week.window(in: timeZone).end
        let lateBy = max(0, now.timeIntervalSince(end))
        if request == .named { return .send(lateBy: lateBy) }
        if state.status == .skipped { return .alreadySkipped(reason: state.skipReason ?? "skipped") }
        if now < end { return .send(lateBy: 0) }
        if let cutoff {
            let deadline = cutoff.deadline(after: end, in: timeZone)
            if now >= deadline {
                return .pastCutoff(
                    reason:
                        "not sent by the cutoff (run.cutoff = \(cutoff) after the week ended: \(stamp(deadline, timeZone))); this run came \(describe(lateBy)) after the week ended"
                )
            }
        }
        let followingEnd = week.next.window(in: timeZone).end
        let seenInTime = state.firstRunAt.map { $0 < followingEnd } ?? false
        if now >= followingEnd && !seenInTime {
            switch missed {
            case .sendLate: return .send(lateBy: lateBy)
            case .skip:
                return .skipMissed(
                    reason:
                        "missed: no run between the week's end (\(stamp(end, timeZone))) and the end of the week after; run.missed = skip"
                )
            }
        }
        return .send(lateBy: lateBy)
    }

    /// The weeks between the last week a run handled and `target`, oldest first, at most
    /// `limit` of them (the most recent): the weeks a machine that was off never ran.
    public static func missedWeeks(after lastHandled: IssueWeek?, before target: IssueWeek, limit: Int = 52)
        -> [IssueWeek]
    {
        guard let lastHandled, lastHandled < target else { return [] }
        var weeks: [IssueWeek] = []
        var week = target.previous
        while week > lastHandled && weeks.count < limit {
            weeks.append(week)
            week = week.previous
        }
        return weeks.reversed()
    }

    static func describe(_ interval: TimeInterval) -> String {
        let hours = Int(interval / 3600)
        return hours >= 48 ? "\(hours / 24) days \(hours % 24) h" : "\(hours) h \(Int(interval / 60) % 60) min"
    }

    static func stamp(_ date: Date, _ timeZone: TimeZone) -> String {
        var style = Date.ISO8601FormatStyle(timeZone: timeZone)
        style = style.year().month().day().time(includingFractionalSeconds: false).timeZone(separator: .colon)
        return date.formatted(style)
    }
}
