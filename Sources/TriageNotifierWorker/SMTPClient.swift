public import Foundation
import NIOCore
import NIOPosix
public import NIOSSL

/// One e-mail to send: plain text, UTF-8.
public struct MailMessage: Sendable, Hashable {
    public var from: String
    public var to: [String]
    public var subject: String
    public var body: String
    /// Extra header fields (for example `Idempotency-Key`), in order.
    public var headers: [(name: String, value: String)]

    public init(from: String, to: [String], subject: String, body: String, headers: [(name: String, value: String)] = []) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.headers = headers
    }

    public static func == (lhs: MailMessage, rhs: MailMessage) -> Bool {
        lhs.from == rhs.from && lhs.to == rhs.to && lhs.subject == rhs.subject && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(from)
        hasher.combine(to)
        hasher.combine(subject)
        hasher.combine(body)
    }

    /// The RFC 5322 text: CRLF line ends, a MIME text/plain part (base64 when not ASCII), subject
    /// encoded per RFC 2047 when not ASCII. Not yet dot-stuffed.
    func rendered(date: Date, messageID: String) -> String {
        var lines: [String] = []
        lines.append("From: \(from)")
        lines.append("To: \(to.joined(separator: ", "))")
        lines.append("Subject: \(Self.encodedWord(subject))")
        lines.append("Date: \(Self.rfc5322Date(date))")
        lines.append("Message-ID: <\(messageID)>")
        for header in headers {
            lines.append(
                "\(header.name): \(header.value.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " "))")
        }
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=utf-8")
        let normalized = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        if normalized.utf8.allSatisfy({ $0 < 0x80 }) && !normalized.split(separator: "\r\n").contains(where: { $0.utf8.count > 990 }) {
            lines.append("Content-Transfer-Encoding: 7bit")
            lines.append("")
            lines.append(normalized)
        } else {
            lines.append("Content-Transfer-Encoding: base64")
            lines.append("")
            lines.append(
                Data(normalized.utf8).base64EncodedString(options: [
                    .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
                ]))
        }
        return lines.joined(separator: "\r\n")
    }

    static func encodedWord(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return text }
        return "=?UTF-8?B?\(Data(text.utf8).base64EncodedString())?="
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

/// Why a mail was not sent: the server's reply (code and text) or a transport problem.
public struct SMTPError: Error, Sendable, CustomStringConvertible {
    /// The reply code, when the server answered (e.g. 450, 550); `nil` for transport failures.
    public let replyCode: Int?
    public let message: String
    /// The conversation did not finish within the configured timeout.
    public let isTimeout: Bool

    init(replyCode: Int?, message: String, isTimeout: Bool = false) {
        self.replyCode = replyCode
        self.message = message
        self.isTimeout = isTimeout
    }

    /// 4xx replies, timeouts and connection failures may succeed later; 5xx replies will not.
    public var isTransient: Bool { replyCode.map { $0 < 500 } ?? true }

    public var description: String {
        replyCode.map { "SMTP \($0): \(message)" } ?? "SMTP: \(message)"
    }
}

/// A small SMTP client (RFC 5321): EHLO, optional STARTTLS and AUTH PLAIN, one message per
/// connection, QUIT. Runs on SwiftNIO; never blocks a thread.
///
/// Defaults: port 25, no TLS, no authentication, 30 s for the whole conversation.
public struct SMTPClient: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Upgrade with STARTTLS before sending (fails if the server does not offer it).
        public var startTLS: Bool
        /// Trust store for STARTTLS; `nil` = the system's.
        public var trustRoots: NIOSSLTrustRoots?
        public var username: String?
        public var password: String?
        /// Name sent with EHLO. Default `"triage.localhost"`.
        public var heloName: String
        /// Budget for connecting and the whole conversation. Default 30 s.
        public var timeout: Duration

        public init(
            host: String, port: Int = 25, startTLS: Bool = false, trustRoots: NIOSSLTrustRoots? = nil, username: String? = nil,
            password: String? = nil, heloName: String = "triage.localhost", timeout: Duration = .seconds(30)
        ) {
            self.host = host
            self.port = port
            self.startTLS = startTLS
            self.trustRoots = trustRoots
            self.username = username
            self.password = password
            self.heloName = heloName
            self.timeout = timeout
        }
    }

    public let configuration: Configuration

    public init(configuration: Configuration) { self.configuration = configuration }

    /// Sends `message`; returns the server's final reply text to DATA (often a queue id).
    @discardableResult
    public func send(_ message: MailMessage, messageID: String = UUID().uuidString + "@triage") async throws -> String {
        let configuration = self.configuration
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await Self.converse(message, messageID: messageID, configuration: configuration) }
            group.addTask {
                try await Task.sleep(for: configuration.timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let reply = first else {
                throw SMTPError(
                    replyCode: nil, message: "no answer from \(configuration.host):\(configuration.port) within \(configuration.timeout)",
                    isTimeout: true
                )
            }
            return reply
        }
    }

    private static func converse(_ message: MailMessage, messageID: String, configuration: Configuration) async throws -> String {
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(Int64(max(1, configuration.timeout.components.seconds))))
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
        } catch {
            throw SMTPError(replyCode: nil, message: "cannot connect to \(configuration.host):\(configuration.port): \(error)")
        }
        let raw = channel.channel
        return try await channel.executeThenClose { inbound, outbound in
            var replies = ReplyReader(inbound.makeAsyncIterator())
            func command(_ line: String, expect: ClosedRange<Int>) async throws -> SMTPReply {
                try await outbound.write(ByteBuffer(string: line + "\r\n"))
                return try await replies.next(expect: expect, after: line.hasPrefix("AUTH") ? "AUTH" : line)
            }
            _ = try await replies.next(expect: 220...220, after: "connect")
            let features = try await command("EHLO \(configuration.heloName)", expect: 250...250)
            if configuration.startTLS {
                guard features.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                    throw SMTPError(
                        replyCode: nil, message: "\(configuration.host) does not offer STARTTLS, which is configured as required")
                }
                _ = try await command("STARTTLS", expect: 220...220)
                var tls = TLSConfiguration.makeClientConfiguration()
                if let roots = configuration.trustRoots { tls.trustRoots = roots }
                let context = try NIOSSLContext(configuration: tls)
                // SNI takes a name, never an IP address (the certificate is then checked against the address).
                let isAddress = (try? SocketAddress(ipAddress: configuration.host, port: 0)) != nil
                let serverHostname = isAddress ? nil : configuration.host
                // The handler is not Sendable: made and added on the channel's own event loop.
                try await raw.eventLoop.submit {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: serverHostname)
                    try raw.pipeline.syncOperations.addHandler(handler, position: .first)
                }.get()
                _ = try await command("EHLO \(configuration.heloName)", expect: 250...250)  // again, over TLS
            }
            if let username = configuration.username {
                let token = Data(("\u{0}" + username + "\u{0}" + (configuration.password ?? "")).utf8).base64EncodedString()
                _ = try await command("AUTH PLAIN \(token)", expect: 235...235)
            }
            _ = try await command("MAIL FROM:<\(Self.address(message.from))>", expect: 250...250)
            for recipient in message.to { _ = try await command("RCPT TO:<\(Self.address(recipient))>", expect: 250...251) }
            _ = try await command("DATA", expect: 354...354)
            let text = message.rendered(date: Date(), messageID: messageID)
            // Dot-stuffing: a line that starts with "." gets another one.
            let stuffed = text.split(separator: "\r\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix(".") ? "." + $0 : String($0) }.joined(separator: "\r\n")
            let accepted = try await command(stuffed + "\r\n.", expect: 250...250)
            try? await outbound.write(ByteBuffer(string: "QUIT\r\n"))
            return accepted.text
        }
    }

    /// `Name <a@b>` → `a@b`.
    static func address(_ text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close {
            return String(text[text.index(after: open)..<close])
        }
        return text.trimmingCharacters(in: .whitespaces)
    }
}

struct SMTPReply {
    var code: Int
    var lines: [String]
    var text: String { lines.joined(separator: " ") }
}

/// Reads complete (possibly multi-line) replies from the connection.
struct ReplyReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending = ""

    init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) { self.iterator = iterator }

    mutating func next(expect: ClosedRange<Int>, after command: String) async throws -> SMTPReply {
        var lines: [String] = []
        while true {
            while let end = pending.range(of: "\r\n") {
                let line = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                let code = Int(line.prefix(3))
                let rest = line.count > 4 ? String(line.dropFirst(4)) : ""
                lines.append(rest)
                guard let code else { throw SMTPError(replyCode: nil, message: "malformed reply to \(command): \(line)") }
                if line.count < 4 || line[line.index(line.startIndex, offsetBy: 3)] == " " {
                    guard expect.contains(code) else {
                        throw SMTPError(replyCode: code, message: "\(command) refused: \(lines.joined(separator: " "))")
                    }
                    return SMTPReply(code: code, lines: lines)
                }
            }
            guard let buffer = try await iterator.next() else {
                throw SMTPError(replyCode: nil, message: "connection closed while waiting for the reply to \(command)")
            }
            pending += String(buffer: buffer)
        }
    }
}
