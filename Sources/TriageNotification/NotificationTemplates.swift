import Foundation
import Mustache

/// The texts notifications say, as Mustache templates per template name and channel part:
/// `email-subject` and `email-body` (plain text), `chat` (the message `text`) and `webhook` (the
/// `summary` the worker puts into its JSON envelope beside the request's fields).
///
/// Defaults ship in code for `assigned`, `sla-warning`, `escalated`, `customer-update` and the
/// ``fallbackTemplate`` `generic`, used for any other name. ``load(directory:)`` overrides them
/// from files named `<template>.<part>.mustache`, e.g. `escalated.chat.mustache`.
///
/// Templates render the request's payload plus `incident_id`, `recipient`, `template` and `urgent`
/// (`{{#urgent}}...{{/urgent}}`). Output is never HTML-escaped; chat values are escaped for
/// Slack (`&`, `<`, `>`), so payload text cannot ping `<!channel>` or forge links, and e-mail
/// subjects are kept to one line.
public struct NotificationTemplates: Sendable {
    /// One renderable part of a notification.
    public enum Part: String, Sendable, Hashable, CaseIterable {
        case emailSubject = "email-subject"
        case emailBody = "email-body"
        case chat
        case webhook
    }

    /// A rendered notification: ``subject`` only for e-mail.
    public struct Rendered: Sendable, Hashable {
        public var subject: String?
        public var text: String

        public init(subject: String? = nil, text: String) {
            self.subject = subject
            self.text = text
        }
    }

    /// The template used for names that have none of their own.
    public static let fallbackTemplate = "generic"

    private var templates: [Key: MustacheTemplate]

    private struct Key: Hashable {
        let name: String
        let part: Part
    }

    /// The templates shipped in code.
    public static let defaults: NotificationTemplates = {
        var templates: [Key: MustacheTemplate] = [:]
        for (name, parts) in defaultTexts {
            for (part, text) in parts {
                // The shipped texts are tested; a syntax error here is a programming error.
                templates[Key(name: name, part: part)] = try! compile(text)
            }
        }
        return NotificationTemplates(templates: templates)
    }()

    /// The defaults, overridden by every `<template>.<part>.mustache` file in `directory` (other
    /// files are ignored). Every file is parsed now, so a broken template stops the notifier at
    /// start-up rather than at its first notification.
    ///
    /// - Throws: ``NotificationTemplateError`` naming the file: unreadable, an unknown part
    ///   (such as `assigned.sms.mustache`), or a Mustache syntax error with its line and column.
    public static func load(directory: String) throws(NotificationTemplateError) -> NotificationTemplates {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".mustache") }.sorted()
        } catch {
            throw NotificationTemplateError(
                code: .unreadable, file: directory, message: "cannot list the template directory: \(error.localizedDescription)")
        }
        var result = defaults
        for fileName in names {
            let path = (directory as NSString).appendingPathComponent(fileName)
            let pieces = fileName.dropLast(".mustache".count).split(separator: ".", omittingEmptySubsequences: false)
            guard pieces.count == 2, !pieces[0].isEmpty, let part = Part(rawValue: String(pieces[1])) else {
                let parts = Part.allCases.map(\.rawValue).joined(separator: ", ")
                let hint =
                    pieces.last == "email"
                    ? "; e-mail has two parts, <template>.email-subject.mustache and <template>.email-body.mustache" : ""
                throw NotificationTemplateError(
                    code: .unknownPart, file: path,
                    message: "template files are named <template>.<part>.mustache with part one of \(parts)\(hint)")
            }
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw NotificationTemplateError(
                    code: .unreadable, file: path, message: "cannot read the template: \(error.localizedDescription)")
            }
            result.templates[Key(name: String(pieces[0]), part: part)] = try compile(text, file: path)
        }
        return result
    }

    /// Renders `notification` for `channel`.
    public func render(_ notification: OutboundNotification, for channel: NotificationChannel) -> Rendered {
        switch channel {
        case .email:
            // One line: a newline in a subject would end the header and start another.
            let subject = render(notification, .emailSubject).split(whereSeparator: \.isNewline).joined(separator: " ")
            return Rendered(subject: subject.trimmingCharacters(in: .whitespaces), text: render(notification, .emailBody))
        case .chat:
            return Rendered(text: render(notification, .chat))
        case .webhook:
            return Rendered(text: render(notification, .webhook))
        }
    }

    private func render(_ notification: OutboundNotification, _ part: Part) -> String {
        let template = templates[Key(name: notification.template, part: part)] ?? templates[Key(name: Self.fallbackTemplate, part: part)]!
        var values: [String: Any] = notification.payload
        values["incident_id"] = notification.incidentID
        values["recipient"] = notification.recipient
        values["template"] = notification.template
        if part == .chat {
            values = values.mapValues { ($0 as? String).map(Self.slackEscaped) ?? $0 }
        }
        values["urgent"] = notification.urgent
        return template.render(values).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    // MARK: Compiling

    /// Mustache escapes for HTML by default; these texts are plain. The pragma goes on the first
    /// line so line numbers stay right (columns on line 1 are corrected).
    private static let plainText = "{{% CONTENT_TYPE: TEXT }}"

    private static func compile(_ text: String, file: String = "<built-in>") throws(NotificationTemplateError) -> MustacheTemplate {
        do {
            return try MustacheTemplate(string: plainText + text)
        } catch let error as MustacheTemplate.ParserError {
            let context = error.context
            let column = context.lineNumber == 1 ? max(1, context.columnNumber - plainText.count) : context.columnNumber
            throw NotificationTemplateError(
                code: .syntax, file: file, line: context.lineNumber, column: column,
                message: explain(error.error) + " (in: \(context.line))")
        } catch {
            throw NotificationTemplateError(code: .syntax, file: file, message: "\(error)")
        }
    }

    private static func explain(_ error: any Error) -> String {
        guard let error = error as? MustacheTemplate.Error else { return "\(error)" }
        switch error {
        case .sectionCloseNameIncorrect: return "a section is closed with another name than it was opened with"
        case .unfinishedName: return "a tag is not closed with }}"
        case .expectedSectionEnd: return "a section is not closed: end {{#name}} with {{/name}}"
        case .invalidSetDelimiter: return "a set-delimiter tag is malformed"
        case .transformAppliedToInheritanceSection, .illegalTokenInsideInheritSection, .textInsideInheritSection:
            return "template inheritance is not supported here"
        case .invalidConfigVariableSyntax, .unrecognisedConfigVariable: return "a {{% ... }} pragma is malformed or unknown"
        }
    }

    // MARK: Shipped texts

    /// Payload keys: `assigned` — `agent`, `team`, `title`; `sla-warning` — `severity`, `target`,
    /// `percent`, `deadline`; `escalated` — `severity`, `level`, `reason`, `deadline`;
    /// `customer-update` — `customer`, `message`; `generic` — `summary`.
    private static let defaultTexts: [String: [Part: String]] = [
        "assigned": [
            .emailSubject: "{{#urgent}}[URGENT] {{/urgent}}Incident {{incident_id}} assigned{{#agent}} to {{agent}}{{/agent}}",
            .emailBody: """
            Incident {{incident_id}}{{#title}} ({{title}}){{/title}} is assigned{{#agent}} to {{agent}}{{/agent}}{{#team}} in team {{team}}{{/team}}.
            """,
            .chat:
                "{{#urgent}}:rotating_light: {{/urgent}}Incident *{{incident_id}}*{{#title}} ({{title}}){{/title}} assigned{{#agent}} to {{agent}}{{/agent}}{{#team}} ({{team}}){{/team}}",
            .webhook: "Incident {{incident_id}} assigned{{#agent}} to {{agent}}{{/agent}}{{#team}} ({{team}}){{/team}}",
        ],
        "sla-warning": [
            .emailSubject: "{{#urgent}}[URGENT] {{/urgent}}SLA warning: incident {{incident_id}} at {{percent}}% of its {{target}} target",
            .emailBody: """
            Incident {{incident_id}} (severity {{severity}}) has used {{percent}}% of its {{target}} target.
            {{#deadline}}It is due at {{deadline}}.{{/deadline}}
            """,
            .chat:
                ":warning: Incident *{{incident_id}}* (severity {{severity}}) at {{percent}}% of its {{target}} target{{#deadline}}, due {{deadline}}{{/deadline}}",
            .webhook: "Incident {{incident_id}} at {{percent}}% of its {{target}} target",
        ],
        "escalated": [
            .emailSubject: "{{#urgent}}[URGENT] {{/urgent}}Escalation level {{level}}: incident {{incident_id}}",
            .emailBody: """
            Incident {{incident_id}} (severity {{severity}}) is escalated to level {{level}}: {{reason}}.
            {{#deadline}}The breached deadline was {{deadline}}.{{/deadline}}
            """,
            .chat: ":rotating_light: Incident *{{incident_id}}* escalated to level {{level}}: {{reason}}",
            .webhook: "Incident {{incident_id}} escalated to level {{level}}: {{reason}}",
        ],
        "customer-update": [
            .emailSubject: "Update on incident {{incident_id}}",
            .emailBody: """
            {{#customer}}{{customer}} has{{/customer}}{{^customer}}The customer has{{/customer}} updated incident {{incident_id}}.
            {{#message}}

            {{message}}
            {{/message}}
            """,
            .chat: "Customer update on incident *{{incident_id}}*{{#message}}: {{message}}{{/message}}",
            .webhook: "Customer update on incident {{incident_id}}",
        ],
        fallbackTemplate: [
            .emailSubject: "{{#urgent}}[URGENT] {{/urgent}}Incident {{incident_id}}: {{template}}",
            .emailBody: "Incident {{incident_id}}: {{template}}{{#summary}}\n\n{{summary}}{{/summary}}",
            .chat: "Incident *{{incident_id}}*: {{template}}{{#summary}} — {{summary}}{{/summary}}",
            .webhook: "Incident {{incident_id}}: {{template}}{{#summary}} — {{summary}}{{/summary}}",
        ],
    ]
}

/// A template that cannot be used: which file, where, and what is wrong.
///
/// ``description`` reads `FILE:LINE:COLUMN: MESSAGE` like configuration errors.
public struct NotificationTemplateError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Compare against the `static let` cases; new cases never break callers.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Mustache syntax: an unclosed tag or section, a mismatched close, ...
        public static let syntax = Code(rawValue: "syntax")
        /// A `.mustache` file whose name is not `<template>.<part>.mustache`.
        public static let unknownPart = Code(rawValue: "unknown-part")
        /// The directory or a file cannot be read.
        public static let unreadable = Code(rawValue: "unreadable")
    }

    public let code: Code
    public let file: String
    public let line: Int?
    public let column: Int?
    public let message: String

    public init(code: Code, file: String, line: Int? = nil, column: Int? = nil, message: String) {
        self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        [file, line.map(String.init), line == nil ? nil : column.map(String.init)].compactMap { $0 }.joined(separator: ":") + ": " + message
    }
}
