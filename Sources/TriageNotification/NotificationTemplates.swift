import Foundation
import Mustache
import Synchronization

/// The texts notifications say, as Mustache templates per template name and channel part:
/// `email-subject` and `email-body` (plain text), `chat` (the message `text`) and `webhook` (the
/// `summary` the worker puts into its JSON envelope beside the request's fields).
///
/// Defaults ship in code for `assigned`, `sla-warning`, `escalated`, `queue-waiting`,
/// `customer-update` (in English, German, French and Spanish) and the ``fallbackTemplate``
/// `generic`, used for any other name. ``load(directory:)`` overrides them from files named
/// `<template>.<part>.mustache`, e.g. `escalated.chat.mustache`, or
/// `<template>.<language>.<part>.mustache` for one language, e.g.
/// `customer-update.de.email-body.mustache`.
///
/// A text is looked up in the recipient's language (the rules' `customers.<account>.language`,
/// else the request's `language`): the whole tag (`pt-br`), then its primary subtag (`pt`), then
/// the template without a language; a template name with no text at all falls back to `generic`.
///
/// Templates render the request's payload plus `incident_id`, `recipient`, `template` and `urgent`
/// (`{{#urgent}}...{{/urgent}}`), `event_<event>` (true, for `{{#event_acknowledged}}`), and
/// `occurred_at_local` / `deadline_local`: `occurred_at` and `deadline` written for people in the
/// recipient's language and the request's `customer_time_zone` (UTC without one). Output is never
/// HTML-escaped; chat values are escaped for
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

    private var templates: [Key: CompiledText]

    /// A compiled text, and whether it may read `occurred_at_local` / `deadline_local`: those
    /// take a date parse and a formatter each, and most texts never show them.
    struct CompiledText: Sendable {
        let template: MustacheTemplate
        /// The same text without the Mustache library, when it is simple enough.
        let plain: PlainTemplate?
        let readsLocalTimes: Bool

        init(_ template: MustacheTemplate, source: String) {
            self.template = template
            self.plain = PlainTemplate(source)
            self.readsLocalTimes = Self.mayRead(suffix: "_local", in: source)
        }

        func render(_ values: [String: Any], withMustache: Bool = false) -> String {
            if !withMustache, let plain, let text = plain.render(values) { return text }
            return template.render(values)
        }

        /// True unless `source` cannot reach a name ending in `suffix`: a Mustache name is
        /// spelled out in the text (whatever the delimiters), except through `{{.}}`, which
        /// can print the whole context. Changed delimiters (`=`) are taken as "may" too.
        static func mayRead(suffix: String, in source: String) -> Bool {
            if source.contains(suffix) || source.contains("=") { return true }
            var rest = Substring(source)
            while let open = rest.range(of: "{{") {
                rest = rest[open.upperBound...]
                if rest.drop(while: { " #^&{/>".contains($0) }).first == "." { return true }
            }
            return false
        }
    }

    private struct Key: Hashable {
        let name: String
        /// Lower-case BCP 47 tag; empty: the template for every language.
        let language: String
        let part: Part

        init(name: String, language: String = "", part: Part) {
            self.name = name
            self.language = language.lowercased()
            self.part = part
        }
    }

    /// The texts shipped in code, every language.
    static var shippedSources: [String] {
        (defaultTexts.values.flatMap(\.values) + customerUpdateTranslations.values.flatMap(\.values))
    }

    /// The templates shipped in code.
    public static let defaults: NotificationTemplates = {
        var templates: [Key: CompiledText] = [:]
        for (name, parts) in defaultTexts {
            for (part, text) in parts {
                // The shipped texts are tested; a syntax error here is a programming error.
                templates[Key(name: name, part: part)] = try! compile(text)
            }
        }
        for (language, parts) in customerUpdateTranslations {
            for (part, text) in parts { templates[Key(name: "customer-update", language: language, part: part)] = try! compile(text) }
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
            guard (2...3).contains(pieces.count), !pieces[0].isEmpty, let part = Part(rawValue: String(pieces[pieces.count - 1])) else {
                let parts = Part.allCases.map(\.rawValue).joined(separator: ", ")
                let hint =
                    pieces.last == "email"
                    ? "; e-mail has two parts, <template>.email-subject.mustache and <template>.email-body.mustache" : ""
                throw NotificationTemplateError(
                    code: .unknownPart, file: path,
                    message:
                        "template files are named <template>.<part>.mustache or <template>.<language>.<part>.mustache with part one of \(parts)\(hint)"
                )
            }
            let language = pieces.count == 3 ? String(pieces[1]) : ""
            if pieces.count == 3, !isLanguageTag(language) {
                throw NotificationTemplateError(
                    code: .unknownPart, file: path,
                    message: "'\(language)' is not a BCP 47 language tag (such as de or pt-BR) in <template>.<language>.<part>.mustache")
            }
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw NotificationTemplateError(
                    code: .unreadable, file: path, message: "cannot read the template: \(error.localizedDescription)")
            }
            result.templates[Key(name: String(pieces[0]), language: language, part: part)] = try compile(text, file: path)
        }
        return result
    }

    /// Renders `notification` for `channel` in `language` (a BCP 47 tag; `nil`: the request's
    /// `payload["language"]`).
    public func render(_ notification: OutboundNotification, for channel: NotificationChannel, language: String? = nil) -> Rendered {
        render(notification, for: channel, language: language, everyValue: false)
    }

    /// `everyValue`: compute every value a text could read, and trim with Foundation, as
    /// rendering did before texts that do not read local times skipped them; tests compare
    /// both ways.
    func render(_ notification: OutboundNotification, for channel: NotificationChannel, language: String?, everyValue: Bool) -> Rendered {
        let language = language ?? notification.payload["language"] ?? ""
        switch channel {
        case .email:
            // One line: a newline in a subject would end the header and start another.
            let subject = render(notification, .emailSubject, language: language, everyValue: everyValue).split(whereSeparator: \.isNewline)
                .joined(separator: " ")
            return Rendered(
                subject: subject.trimmingCharacters(in: .whitespaces),
                text: render(notification, .emailBody, language: language, everyValue: everyValue))
        case .chat:
            return Rendered(text: render(notification, .chat, language: language, everyValue: everyValue))
        case .webhook:
            return Rendered(text: render(notification, .webhook, language: language, everyValue: everyValue))
        }
    }

    /// Whether `text` reads as a BCP 47 tag: a 2–3 letter primary subtag, then subtags of 1–8
    /// letters or digits (`en`, `de-CH`, `pt-BR`, `zh-Hant-TW`).
    public static func isLanguageTag(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { (1...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    /// The languages to look a text up in, most specific first, ending with "" (any language).
    static func lookupOrder(_ language: String) -> [String] {
        let tag = language.lowercased()
        guard isLanguageTag(tag) else { return [""] }
        let primary = String(tag.prefix { $0 != "-" })
        return primary == tag ? [tag, ""] : [tag, primary, ""]
    }

    private func template(_ name: String, _ part: Part, language: String) -> CompiledText {
        let languages = Self.lookupOrder(language)
        for name in [name, Self.fallbackTemplate] {
            for language in languages {
                if let template = templates[Key(name: name, language: language, part: part)] { return template }
            }
        }
        return templates[Key(name: Self.fallbackTemplate, part: part)]!
    }

    private func render(_ notification: OutboundNotification, _ part: Part, language: String, everyValue: Bool) -> String {
        let compiled = template(notification.template, part, language: language)
        var values: [String: Any] = notification.payload
        values["incident_id"] = notification.incidentID
        values["recipient"] = notification.recipient
        values["template"] = notification.template
        let zone = notification.payload["customer_time_zone"] ?? ""
        for key in ["occurred_at", "deadline"] where everyValue || compiled.readsLocalTimes {
            // A request without `occurred_at` is about the moment it was requested.
            let instant =
                notification.payload[key].flatMap { try? Date.ISO8601FormatStyle().parse($0) }
                ?? (key == "occurred_at" ? notification.requestedAt : nil)
            if let instant { values[key + "_local"] = Self.localTime(instant, zone: zone, language: language) }
        }
        if part == .chat {
            values = values.mapValues { ($0 as? String).map(Self.slackEscaped) ?? $0 }
        }
        if let event = notification.payload["event"], !event.isEmpty { values["event_" + event] = true }
        values["urgent"] = notification.urgent
        // `everyValue` (the tests' reference way) renders with Mustache too.
        let text = compiled.render(values, withMustache: everyValue)
        return everyValue ? text.trimmingCharacters(in: .whitespacesAndNewlines) : Self.trimmed(text)
    }

    /// `text.trimmingCharacters(in: .whitespacesAndNewlines)`, without bridging to NSString
    /// when there is nothing to trim (ASCII other than space and control characters at both
    /// ends, as most rendered texts have).
    static func trimmed(_ text: String) -> String {
        guard let first = text.utf8.first, let last = text.utf8.last else { return text }
        func kept(_ byte: UInt8) -> Bool { byte > 0x20 && byte < 0x7F }
        return kept(first) && kept(last) ? text : text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `instant` for people: date, time and zone in `language`'s conventions
    /// ("December 3, 2026 at 9:15 AM EST", "3. Dezember 2026 um 09:15 GMT-5").
    /// `zone`: an IANA name; empty or unknown is UTC.
    static func localTime(_ instant: Date, zone: String, language: String) -> String {
        let locale = isLanguageTag(language) ? language.replacingOccurrences(of: "-", with: "_") : "en"
        let key = locale + "|" + zone
        // Building a formatter (locale data, the pattern for the language) cost more than the rest
        // of a delivery; one per language and zone is kept, and used under the lock.
        return localTimeFormatters.withLock { formatters in
            if let formatter = formatters[key] { return formatter.string(from: instant) }
            if formatters.count >= 512 { formatters.removeAll() }  // nonsense languages and zones cannot grow it for ever
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: locale)
            formatter.timeZone = TimeZone(identifier: zone) ?? TimeZone(identifier: "UTC")!
            formatter.setLocalizedDateFormatFromTemplate("yMMMMdjmmz")
            formatters[key] = formatter
            return formatter.string(from: instant)
        }
    }
    private static let localTimeFormatters = Mutex<[String: DateFormatter]>([:])

    static func slackEscaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(
            of: ">", with: "&gt;")
    }

    // MARK: Compiling

    /// Mustache escapes for HTML by default; these texts are plain. The pragma goes on the first
    /// line so line numbers stay right (columns on line 1 are corrected).
    private static let plainText = "{{% CONTENT_TYPE: TEXT }}"

    private static func compile(_ text: String, file: String = "<built-in>") throws(NotificationTemplateError) -> CompiledText {
        do {
            return CompiledText(try MustacheTemplate(string: plainText + text), source: text)
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

    /// Payload keys: `assigned` — `agent`, `from_agent`, `cause`, `team`, `severity`, `product`,
    /// `title`; `sla-warning` — `severity`, `target`, `percent`, `deadline`; `escalated` —
    /// `severity`, `level`, `reason`, `deadline`; `queue-waiting` — `team`, `waited_minutes`,
    /// `threshold_minutes`, `depth`, `severity`; `customer-update` — `event`, `agent`, `summary`,
    /// `occurred_at`, `customer_time_zone`, `message`; `generic` — `summary`.
    private static let defaultTexts: [String: [Part: String]] = [
        "assigned": [
            .emailSubject: "{{#urgent}}[URGENT] {{/urgent}}Incident {{incident_id}} assigned{{#agent}} to {{agent}}{{/agent}}",
            .emailBody: """
            Incident {{incident_id}}{{#title}} ({{title}}){{/title}} is assigned{{#agent}} to {{agent}}{{/agent}}{{#team}} in team {{team}}{{/team}}{{#from_agent}} (from {{from_agent}}){{/from_agent}}.
            {{#severity}}Severity {{severity}}{{#product}}, product {{product}}{{/product}}.{{/severity}}
            {{#cause}}Why: {{cause}}.{{/cause}}
            """,
            .chat:
                "{{#urgent}}:rotating_light: {{/urgent}}Incident *{{incident_id}}*{{#title}} ({{title}}){{/title}} assigned{{#agent}} to {{agent}}{{/agent}}{{#team}} ({{team}}){{/team}}{{#from_agent}}, from {{from_agent}}{{/from_agent}}{{#cause}} — {{cause}}{{/cause}}",
            .webhook:
                "Incident {{incident_id}} assigned{{#agent}} to {{agent}}{{/agent}}{{#team}} ({{team}}){{/team}}{{#from_agent}}, from {{from_agent}}{{/from_agent}}",
        ],
        "queue-waiting": [
            .emailSubject:
                "{{#urgent}}[URGENT] {{/urgent}}Queue {{team}}: incident {{incident_id}} has waited {{waited_minutes}} minutes",
            .emailBody: """
            The oldest incident in the queue of {{team}}, {{incident_id}}{{#severity}} (severity {{severity}}){{/severity}}, has waited {{waited_minutes}} minutes for an agent{{#threshold_minutes}} (alert after {{threshold_minutes}}){{/threshold_minutes}}.
            {{#depth}}Incidents waiting in the queue: {{depth}}.{{/depth}}
            """,
            .chat:
                ":hourglass: Queue *{{team}}*: incident *{{incident_id}}* has waited {{waited_minutes}} min for an agent{{#depth}} ({{depth}} waiting){{/depth}}",
            .webhook: "Queue {{team}}: incident {{incident_id}} has waited {{waited_minutes}} minutes for an agent",
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
        "customer-update": customerUpdateTexts(
            subject: [
                "acknowledged": "We are working on your incident {{incident_id}}",
                "solution_delivered": "A solution for your incident {{incident_id}}",
                "closed_resolved": "Your incident {{incident_id}} is closed",
                "closed_unresolved": "Your incident {{incident_id}} is closed",
                "closed_by_customer": "Your incident {{incident_id}} is closed as you asked",
                "": "Update on your incident {{incident_id}}",
            ],
            body: [
                "acknowledged":
                    "Your incident {{incident_id}} was acknowledged{{#agent}} by {{agent}}{{/agent}} on {{occurred_at_local}}. We are working on it and will keep you informed.",
                "solution_delivered":
                    "We delivered a solution for your incident {{incident_id}} on {{occurred_at_local}}.{{#summary}}\n\n{{summary}}{{/summary}}",
                "closed_resolved":
                    "Your incident {{incident_id}} was closed as resolved on {{occurred_at_local}}. If the problem comes back, reply and we will reopen it.",
                "closed_unresolved":
                    "Your incident {{incident_id}} was closed without a solution on {{occurred_at_local}}. If you want us to look at it again, reply and we will reopen it.",
                "closed_by_customer": "Your incident {{incident_id}} was closed on {{occurred_at_local}}, as you asked.",
                "": "There is news on your incident {{incident_id}}.",
            ]),
        fallbackTemplate: [
            .emailSubject: "{{#urgent}}[URGENT] {{/urgent}}Incident {{incident_id}}: {{template}}",
            .emailBody: "Incident {{incident_id}}: {{template}}{{#summary}}\n\n{{summary}}{{/summary}}",
            .chat: "Incident *{{incident_id}}*: {{template}}{{#summary}} — {{summary}}{{/summary}}",
            .webhook: "Incident {{incident_id}}: {{template}}{{#summary}} — {{summary}}{{/summary}}",
        ],
    ]

    /// The four parts of a `customer-update` text: one section per `event`, and the last entry
    /// (key "") when the request names no event. The message, when given, follows the body.
    static func customerUpdateTexts(subject: [String: String], body: [String: String]) -> [Part: String] {
        let events = subject.keys.filter { !$0.isEmpty }.sorted()
        // The text without an event (or with one these texts do not know): inside every known
        // event's inverted section.
        func sections(_ texts: [String: String]) -> String {
            let known = events.map { "{{#event_\($0)}}\(texts[$0]!){{/event_\($0)}}" }.joined()
            let other = events.reduce(texts[""]!) { text, event in "{{^event_\(event)}}\(text){{/event_\(event)}}" }
            return known + other
        }
        let message = "{{#message}}\n\n{{message}}{{/message}}"
        return [
            .emailSubject: sections(subject),
            .emailBody: sections(body) + message,
            .chat: sections(subject) + "{{#message}}: {{message}}{{/message}}",
            .webhook: sections(subject),
        ]
    }

    /// The shipped translations of `customer-update`, by language.
    static let customerUpdateTranslations: [String: [Part: String]] = [
        "de": customerUpdateTexts(
            subject: [
                "acknowledged": "Wir bearbeiten Ihren Vorfall {{incident_id}}",
                "solution_delivered": "Eine Lösung für Ihren Vorfall {{incident_id}}",
                "closed_resolved": "Ihr Vorfall {{incident_id}} ist abgeschlossen",
                "closed_unresolved": "Ihr Vorfall {{incident_id}} ist abgeschlossen",
                "closed_by_customer": "Ihr Vorfall {{incident_id}} ist wie gewünscht abgeschlossen",
                "": "Neuigkeiten zu Ihrem Vorfall {{incident_id}}",
            ],
            body: [
                "acknowledged":
                    "Ihr Vorfall {{incident_id}} wurde am {{occurred_at_local}}{{#agent}} von {{agent}}{{/agent}} angenommen. Wir arbeiten daran und halten Sie auf dem Laufenden.",
                "solution_delivered":
                    "Wir haben am {{occurred_at_local}} eine Lösung für Ihren Vorfall {{incident_id}} geliefert.{{#summary}}\n\n{{summary}}{{/summary}}",
                "closed_resolved":
                    "Ihr Vorfall {{incident_id}} wurde am {{occurred_at_local}} als gelöst abgeschlossen. Sollte das Problem wieder auftreten, antworten Sie bitte, und wir öffnen ihn erneut.",
                "closed_unresolved":
                    "Ihr Vorfall {{incident_id}} wurde am {{occurred_at_local}} ohne Lösung abgeschlossen. Antworten Sie bitte, wenn wir ihn erneut prüfen sollen.",
                "closed_by_customer": "Ihr Vorfall {{incident_id}} wurde am {{occurred_at_local}} auf Ihren Wunsch abgeschlossen.",
                "": "Es gibt Neuigkeiten zu Ihrem Vorfall {{incident_id}}.",
            ]),
        "fr": customerUpdateTexts(
            subject: [
                "acknowledged": "Nous traitons votre incident {{incident_id}}",
                "solution_delivered": "Une solution pour votre incident {{incident_id}}",
                "closed_resolved": "Votre incident {{incident_id}} est clos",
                "closed_unresolved": "Votre incident {{incident_id}} est clos",
                "closed_by_customer": "Votre incident {{incident_id}} est clos à votre demande",
                "": "Du nouveau sur votre incident {{incident_id}}",
            ],
            body: [
                "acknowledged":
                    "Votre incident {{incident_id}} a été pris en charge{{#agent}} par {{agent}}{{/agent}} le {{occurred_at_local}}. Nous y travaillons et vous tiendrons informé.",
                "solution_delivered":
                    "Nous avons fourni une solution pour votre incident {{incident_id}} le {{occurred_at_local}}.{{#summary}}\n\n{{summary}}{{/summary}}",
                "closed_resolved":
                    "Votre incident {{incident_id}} a été clos comme résolu le {{occurred_at_local}}. Si le problème revient, répondez-nous et nous le rouvrirons.",
                "closed_unresolved":
                    "Votre incident {{incident_id}} a été clos sans solution le {{occurred_at_local}}. Répondez-nous si vous souhaitez que nous le réexaminions.",
                "closed_by_customer": "Votre incident {{incident_id}} a été clos le {{occurred_at_local}}, comme vous l'avez demandé.",
                "": "Il y a du nouveau sur votre incident {{incident_id}}.",
            ]),
        "es": customerUpdateTexts(
            subject: [
                "acknowledged": "Estamos trabajando en su incidencia {{incident_id}}",
                "solution_delivered": "Una solución para su incidencia {{incident_id}}",
                "closed_resolved": "Su incidencia {{incident_id}} está cerrada",
                "closed_unresolved": "Su incidencia {{incident_id}} está cerrada",
                "closed_by_customer": "Su incidencia {{incident_id}} está cerrada, como pidió",
                "": "Novedades sobre su incidencia {{incident_id}}",
            ],
            body: [
                "acknowledged":
                    "Su incidencia {{incident_id}} fue atendida{{#agent}} por {{agent}}{{/agent}} el {{occurred_at_local}}. Estamos trabajando en ella y le mantendremos informado.",
                "solution_delivered":
                    "Entregamos una solución para su incidencia {{incident_id}} el {{occurred_at_local}}.{{#summary}}\n\n{{summary}}{{/summary}}",
                "closed_resolved":
                    "Su incidencia {{incident_id}} se cerró como resuelta el {{occurred_at_local}}. Si el problema vuelve, responda y la reabriremos.",
                "closed_unresolved":
                    "Su incidencia {{incident_id}} se cerró sin solución el {{occurred_at_local}}. Responda si desea que la revisemos de nuevo.",
                "closed_by_customer": "Su incidencia {{incident_id}} se cerró el {{occurred_at_local}}, como pidió.",
                "": "Hay novedades sobre su incidencia {{incident_id}}.",
            ]),
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
