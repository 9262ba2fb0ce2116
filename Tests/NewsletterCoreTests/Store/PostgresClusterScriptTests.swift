import Foundation
import Testing

/// scripts/pg-cluster.sh starts a server that outlives it. A descriptor it inherited (a pipe of
/// another process spawned at the same moment: `system(3)` copies every open descriptor of the
/// test process) must not live on in the server, or whoever reads that pipe never sees its end:
/// a CLI test waiting for `newsletter`'s output hung so, its child long exited.
@Suite(.enabled(if: PostgresCluster.available, "PostgreSQL 15 (Debian) is not installed"))
struct PostgresClusterScriptTests {
    @Test func theServerKeepsNoDescriptorTheScriptInherited() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "newsletter-pg-\(UUID().uuidString.prefix(8))"
        ).path
        let script = TestPaths.repository.appendingPathComponent("scripts/pg-cluster.sh").path
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        defer { close(ends[0]) }
        // The write end is open (not close-on-exec) while the script runs, as a concurrent
        // spawn's pipe would be.
        let status = system("/bin/bash '\(script)' start '\(directory)' </dev/null >/dev/null 2>&1")
        defer { _ = system("/bin/bash '\(script)' stop '\(directory)' </dev/null >/dev/null 2>&1") }
        close(ends[1])
        #expect(status == 0)
        // With our end closed, the read end hangs up at once unless another process holds the
        // write end: no waiting, so nothing here depends on the machine's speed.
        var poller = pollfd(fd: ends[0], events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 0) == 1)
        #expect(poller.revents & Int16(POLLHUP) != 0, "the server still holds the pipe's write end")
    }
}
