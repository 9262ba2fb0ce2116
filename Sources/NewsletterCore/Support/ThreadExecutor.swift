import Foundation
import Synchronization

/// A task executor that owns one thread: the jobs of the tasks that prefer it run there, one at a
/// time, in the order they come (SE-0417).
///
/// The send's workers block in libcurl for the length of an SMTP transfer, and today in the store
/// too. On Swift's cooperative pool (a thread per core, two here) four such workers would take
/// turns at two threads, and every other task would wait behind a transfer. A worker is a task
/// preferring an executor of its own instead: its transfers hold only its own thread, and when it
/// awaits (the ledger's commit) it resumes on that same thread.
///
/// The thread holds the executor and no job once it has run it; `shutdown` ends and joins it, so
/// once a send returns no thread of it is left running (the caller may close the store and exit).
final class ThreadExecutor: TaskExecutor, Sendable {
    private struct Queue {
        var jobs: [UnownedJob] = []
        var next = 0
    }

    private let queue = Mutex(Queue())
    /// One signal per job enqueued, and one from `shutdown`.
    private let ready = DispatchSemaphore(value: 0)
    private let thread = Mutex<pthread_t?>(nil)

    /// Starts the thread; nil when none can be had (the process is at its limit).
    init?() {
        // The thread's own reference, released as it ends.
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let created = pthread_create(
            &handle, nil,
            { context in
                Unmanaged<ThreadExecutor>.fromOpaque(context!).takeRetainedValue().runJobs()
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<ThreadExecutor>.fromOpaque(context).release()
            return nil
        }
        thread.withLock { $0 = handle }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.withLock { $0.jobs.append(job) }
        ready.signal()
    }

    /// Ends the thread once the jobs enqueued so far have run, and joins it. Called once the
    /// tasks that prefer this executor have finished, from any thread but its own.
    func shutdown() {
        ready.signal()
        if let handle = thread.withLock({ $0.take() }) { pthread_join(handle, nil) }
    }

    private func runJobs() {
        while true {
            ready.wait()
            let job: UnownedJob? = queue.withLock { queue in
                guard queue.next < queue.jobs.count else { return nil }
                defer {
                    queue.next += 1
                    if queue.next == queue.jobs.count {
                        queue.jobs.removeAll(keepingCapacity: true)
                        queue.next = 0
                    }
                }
                return queue.jobs[queue.next]
            }
            // A signal without a job is shutdown's.
            guard let job else { return }
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

extension ThreadExecutor {
    /// Runs `body(index)` for each index below `count` as a child task whose jobs run on a
    /// thread of its own; returns once every task has finished and every thread has ended. A task
    /// that can have no thread (the process is at its limit) runs on the shared pool.
    static func run(count: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
        let executors = (0..<count).map { _ in ThreadExecutor() }
        await withTaskGroup(of: Void.self) { group in
            for (index, executor) in executors.enumerated() {
                group.addTask(executorPreference: executor) { await body(index) }
            }
        }
        for executor in executors { executor?.shutdown() }
    }

    /// Runs `operation` as a child task whose jobs run on a new thread of its own, ended and
    /// joined before this returns (on the shared pool where no thread can be had). A child task,
    /// not a preference pushed on the caller: a task leaving a preference's scope goes on running
    /// on that thread until it next suspends, and a thread cannot join itself.
    static func withOwnThread<T: Sendable, Failure: Error>(
        _ operation: @escaping @Sendable () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        let executor = ThreadExecutor()
        defer { executor?.shutdown() }
        let result = await withTaskGroup(of: Result<T, Failure>.self) { group in
            group.addTask(executorPreference: executor) {
                do throws(Failure) { return .success(try await operation()) } catch { return .failure(error) }
            }
            return await group.next()!
        }
        return try result.get()
    }
}
