import ArgumentParser
import Foundation
import HummingbirdBcrypt

/// `triage console hash-password`: the bcrypt hash of a password read from standard input, for
/// the `password_bcrypt` of an account (the password never appears on a command line).
struct ConsoleHashPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Print the bcrypt hash of the password on standard input (for password_bcrypt in the accounts file).",
        discussion: """
            Reads the password from standard input (one line; a trailing newline is dropped) and prints \
            its bcrypt hash. Example:
              printf '%s' 'correct horse battery' | triage console hash-password
              read -rs PW && printf '%s' "$PW" | triage console hash-password
            """
    )

    @Option(help: "bcrypt cost (log2 of the rounds), 10...16.")
    var cost: Int = 12

    func validate() throws {
        guard (10...16).contains(cost) else { throw ValidationError("--cost must be 10...16") }
    }

    func run() async throws {
        var password = String(decoding: await readStandardInput(), as: UTF8.self)
        if password.hasSuffix("\r\n") {
            password.removeLast(1)
        } else if password.hasSuffix("\n") {
            password.removeLast()
        }
        guard !password.isEmpty else { throw CommandFailure("no password on standard input") }
        guard password.utf8.count <= 72 else { throw CommandFailure("bcrypt uses at most 72 bytes of a password; choose a shorter one") }
        print(Bcrypt.hash(password, cost: UInt8(cost)))
    }
}
