/// `GET /signin`: username and password. The same message for every failure, so it never tells
/// whether an account exists.
enum SignInPage {
    static let failure = "Sign-in failed: wrong username or password. After repeated failures a username is refused for a while."

    static func render(message: String? = nil, username: String = "", next: String = "/queues") -> String {
        var body = "<h1>Sign in</h1>\n"
        if let message { body += "<p id=\"signin-error\" class=\"flash refused\" role=\"alert\">\(HTML.escape(message))</p>\n" }
        body += """
            <form method="post" action="/signin" id="signin-form" class="card" style="max-width:24rem">
            <input type="hidden" name="next" value="\(HTML.escape(next))">
            <p><label for="username">Username</label><br><input id="username" name="username" autocomplete="username" required value="\(HTML.escape(username))"></p>
            <p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
            <p><button type="submit" id="signin-submit">Sign in</button></p>
            </form>
            """
        return PageLayout.render(title: "Sign in", page: "signin", context: nil, body: body)
    }
}
