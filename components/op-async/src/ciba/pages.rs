//! The approval page's views, in op-auth's layout
//! (`authrim_oauth::html::page`: one stylesheet, strict CSP, no script).
//! Element ids and classes are stable (browser tests rely on them):
//!
//! | view | ids and classes |
//! |---|---|
//! | list | `#bc-requests` of `li.bc-request` (`.bc-client`, `.bc-binding-message`, `.bc-scopes`, `.bc-expires`, `#approve-N`, `#deny-N`), or `#bc-none`; `#bc-user` |
//! | done | `#bc-approved` or `#bc-denied`, `#client-name` |
//!
//! Each request has its own form posting to `bc-approve` with `csrf`
//! (bound to the session), `request` (the request's key: the SHA-256 of
//! its `auth_req_id`, which the user never sees) and the button's
//! `decision`.

use authrim_oauth::html::{escape, page};
use authrim_protocol::HttpResponse;

use crate::device::pages::hidden;

const TITLE: &str = "Sign-in requests";

/// One pending request as the user sees it.
pub struct Pending<'a> {
    pub key: &'a str,
    pub client_name: &'a str,
    /// Trusted HTML list items (`authrim_oauth::html::permission_items`).
    pub items: Vec<String>,
    pub binding_message: Option<&'a str>,
    pub seconds_left: i64,
}

fn time_left(seconds: i64) -> String {
    match seconds {
        s if s < 60 => "less than a minute".to_string(),
        s if s < 120 => "1 minute".to_string(),
        s => format!("{} minutes", s / 60),
    }
}

/// The user's pending requests, each with Allow and Deny.
pub fn list(
    status: u16,
    csrf: &str,
    username: &str,
    requests: &[Pending],
    notice: Option<&str>,
) -> HttpResponse {
    let notice = notice
        .map(|n| {
            format!(
                "<p id=\"bc-error\" class=\"error\" role=\"alert\">{}</p>\n",
                escape(n)
            )
        })
        .unwrap_or_default();
    let body = if requests.is_empty() {
        "<p id=\"bc-none\">There are no sign-in requests waiting for you.</p>\n".to_string()
    } else {
        let items: String = requests
            .iter()
            .enumerate()
            .map(|(n, r)| request_item(n, r, csrf))
            .collect();
        format!("<ul id=\"bc-requests\">\n{items}</ul>\n")
    };
    let main = format!(
        "<h1>{TITLE}</h1>\n{notice}\
         <p class=\"muted\">You are signed in as <strong id=\"bc-user\">{user}</strong>. \
         Only allow a request you started yourself, and check that its message matches \
         the one the service shows you.</p>\n{body}",
        user = escape(username),
    );
    page(status, TITLE, &main, None)
}

fn request_item(n: usize, r: &Pending, csrf: &str) -> String {
    let scopes: String = r.items.iter().map(|i| format!("<li>{i}</li>\n")).collect();
    let message = r
        .binding_message
        .map(|m| {
            format!(
                "<p>Message: <strong class=\"bc-binding-message\">{}</strong></p>\n",
                escape(m)
            )
        })
        .unwrap_or_default();
    format!(
        "<li class=\"bc-request\" id=\"bc-request-{n}\">\n\
         <p><strong class=\"bc-client\">{client}</strong> is asking to:</p>\n\
         <ul class=\"bc-scopes\">\n{scopes}</ul>\n{message}\
         <p class=\"muted bc-expires\">Expires in {left}.</p>\n\
         <form method=\"post\" action=\"bc-approve\">\n{csrf}{key}\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve-{n}\" class=\"primary\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny-{n}\" class=\"secondary\">Deny</button>\
         </div>\n</form>\n</li>\n",
        client = escape(r.client_name),
        left = time_left(r.seconds_left),
        csrf = hidden("csrf", csrf),
        key = hidden("request", r.key),
    )
}

/// After the decision.
pub fn done(approved: bool, client_name: &str) -> HttpResponse {
    let (id, heading, text) = if approved {
        (
            "bc-approved",
            "Request allowed",
            "can now continue. You can close this page.",
        )
    } else {
        (
            "bc-denied",
            "Request denied",
            "was not given access. You can close this page.",
        )
    };
    let main = format!(
        "<h1 id=\"{id}\">{heading}</h1>\n\
         <p><strong id=\"client-name\">{}</strong> {text}</p>\n\
         <p><a href=\"bc-approve\">Other requests</a></p>\n",
        escape(client_name)
    );
    page(200, TITLE, &main, None)
}
