/// A page that only says something: 403 (not your team's), 404 (no such incident), a refused form.
enum MessagePage {
    static func render(title: String, message: String, context: PageContext?, id: String = "message") -> String {
        let body =
            "<h1>\(HTML.escape(title))</h1>\n<p id=\"\(id)\">\(HTML.escape(message))</p>\n<p><a href=\"/queues\">Back to the queues</a></p>"
        return PageLayout.render(title: title, page: "message", context: context, body: body)
    }
}
