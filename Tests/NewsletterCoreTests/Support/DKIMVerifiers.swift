import Foundation

@testable import NewsletterCore

/// The real DKIM verifiers the tests check signatures with, each answered from a stubbed DNS
/// (the records derived from the keys on disk) instead of a resolver.
enum DKIMVerifiers {
    struct Result {
        var status: Int32
        var output: String
        var passed: Bool { status == 0 }
    }

    /// dkimpy from PyPI, installed by scripts/setup-test-peers.sh beside aiosmtpd.
    static let dkimpyAvailable: Bool = {
        guard let python = AiosmtpdServer.python else { return false }
        return (try? run(python, ["-c", "import dkim, nacl"]).status) == 0
    }()

    /// Every signature of `message` checked by dkimpy; passes only if there is one and all verify.
    static func dkimpy(_ message: [UInt8], records: [(name: String, value: String)]) throws -> Result {
        let file = try TestPaths.temporaryDirectory().appendingPathComponent("message.eml")
        try Data(message).write(to: file)
        return try run(
            AiosmtpdServer.python!,
            [TestPaths.fixture("tools/dkim_verify.py").path, file.path]
                + records.flatMap { ["--record", "\($0.name)=\($0.value)"] })
    }

    /// OpenDKIM's opendkim-testmsg (Debian opendkim-tools). It reads keys only from the DNS, so
    /// it runs in a network namespace of its own with a stub DNS server (opendkim_verify.sh),
    /// which needs root, as `make test` and CI run.
    static let opendkimAvailable: Bool = {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/opendkim-testmsg")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/opendkim-testkey")
            && (try? run("/usr/bin/unshare", ["--net", "--mount", "true"]).status) == 0
    }()

    /// Each signature checked on its own (opendkim-testmsg passes a message when any one
    /// signature verifies): the message with only that DKIM-Signature field, the others removed
    /// as a relay could remove any field that no signature covers. Prints `<index> pass|fail`.
    static func opendkim(_ message: [UInt8], records: [(name: String, value: String)]) throws -> Result {
        let parsed = DKIMCanonical.split(message)
        let signatures = parsed.fields.indices.filter { parsed.fields[$0].lowercasedName == "dkim-signature" }
        var lines: [String] = []
        var allPassed = !signatures.isEmpty
        for (index, keep) in signatures.enumerated() {
            var single: [UInt8] = []
            for (position, field) in parsed.fields.enumerated() where !signatures.contains(position) || position == keep
            {
                single += field.raw + [13, 10]
            }
            single += [13, 10] + parsed.body
            let file = try TestPaths.temporaryDirectory().appendingPathComponent("message.eml")
            try Data(single).write(to: file)
            let result = try run(
                "/bin/sh",
                [TestPaths.fixture("tools/opendkim_verify.sh").path, file.path]
                    + records.map { "\($0.name)=\($0.value)" })
            allPassed = allPassed && result.passed
            lines.append("\(index) \(result.passed ? "pass" : "fail") \(result.output)")
        }
        return Result(status: allPassed ? 0 : 1, output: lines.joined(separator: "\n"))
    }

    /// opendkim-testkey: does the published record match the private key in `keyFile`? (RSA
    /// only: it cannot read Ed25519 keys.)
    static func opendkimTestkey(
        domain: String, selector: String, keyFile: String, records: [(name: String, value: String)]
    )
        throws -> Result
    {
        try run(
            "/bin/sh",
            [TestPaths.fixture("tools/opendkim_verify.sh").path, "--testkey", domain, selector, keyFile]
                + records.map { "\($0.name)=\($0.value)" })
    }

    static func records(_ signer: DKIMSigner) -> [(name: String, value: String)] {
        signer.keys.map { $0.dnsRecord(domain: signer.domain) }
    }

    static func run(
        _ executable: String, _ arguments: [String], input: [UInt8]? = nil, environment: [String: String] = [:]
    )
        throws -> Result
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let stdin = Pipe()
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input))
            try stdin.fileHandleForWriting.close()
        }
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: printed)
    }
}
