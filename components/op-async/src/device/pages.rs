//! The verification page's views, in op-auth's layout
//! (`authrim_oauth::html::page`: one stylesheet, strict CSP, no script).
//! Element ids are stable (browser tests and assistive technology rely on
//! them):
//!
//! | view | ids |
//! |---|---|
//! | entry | `#user-code`, `#continue`, `#device-error` (role=alert) |
//! | confirm | `#device-user-code`, `#client-name`, `#device-scopes`, `#device-user`, `#approve`, `#deny`, `#device-qr` |
//! | done | `#device-approved` or `#device-denied` |
//!
//! Forms post to `device` with `csrf` (bound to the session) and
//! `user_code`; the decision is the button's `decision` value.

use authrim_oauth::html::{escape, page};
use authrim_protocol::HttpResponse;

pub(crate) fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
        escape(value)
    )
}

/// The code entry form; `typed` is refilled after an error.
pub fn entry(status: u16, csrf: &str, typed: Option<&str>, error: Option<&str>) -> HttpResponse {
    let error_html = error
        .map(|e| {
            format!(
                "<p id=\"device-error\" class=\"error\" role=\"alert\">{}</p>\n",
                escape(e)
            )
        })
        .unwrap_or_default();
    let invalid = if error.is_some() {
        " aria-invalid=\"true\" aria-describedby=\"device-error user-code-help\""
    } else {
        " aria-describedby=\"user-code-help\""
    };
    let main = format!(
        "<h1>Connect a device</h1>\n\
         {error_html}\
         <form method=\"post\" action=\"device\">\n\
         {csrf}\
         <label for=\"user-code\">Code shown on your device</label>\n\
         <input id=\"user-code\" name=\"user_code\" type=\"text\" value=\"{typed}\" \
         autocomplete=\"one-time-code\" autocapitalize=\"characters\" spellcheck=\"false\" \
         maxlength=\"20\" required autofocus{invalid}>\n\
         <p id=\"user-code-help\" class=\"muted\">Eight letters, for example WDJB-MJHT. The dash is optional.</p>\n\
         <div class=\"actions\"><button type=\"submit\" id=\"continue\" class=\"primary\">Continue</button></div>\n\
         </form>\n",
        csrf = hidden("csrf", csrf),
        typed = escape(typed.unwrap_or("")),
    );
    page(status, "Connect a device", &main, None)
}

pub struct Confirm<'a> {
    /// Displayed form, `WDJB-MJHT`.
    pub user_code: &'a str,
    pub client_name: &'a str,
    /// Trusted HTML list items (`authrim_oauth::html::permission_items`).
    pub items: &'a [String],
    pub username: &'a str,
    pub csrf: &'a str,
    /// Inline SVG of `verification_uri_complete`, if it could be made.
    pub qr_svg: Option<&'a str>,
}

/// The request to confirm: the code (to compare with the device), the
/// client, the permissions, approve or deny.
pub fn confirm(c: &Confirm) -> HttpResponse {
    let items: String = c.items.iter().map(|i| format!("<li>{i}</li>\n")).collect();
    let qr = c
        .qr_svg
        .map(|svg| {
            format!(
                "<p class=\"muted\">To continue on your phone instead, scan this code:</p>\n\
                 <p>{svg}</p>\n"
            )
        })
        .unwrap_or_default();
    let main = format!(
        "<h1>Connect a device?</h1>\n\
         <p>Check that your device shows this code: <strong id=\"device-user-code\">{code}</strong></p>\n\
         <p><strong id=\"client-name\">{client}</strong> is asking to:</p>\n\
         <ul id=\"device-scopes\">\n{items}</ul>\n\
         <p class=\"muted\">You are signed in as <strong id=\"device-user\">{user}</strong>. \
         Only continue if you started this on your own device.</p>\n\
         <form method=\"post\" action=\"device\">\n\
         {csrf}{user_code}\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\" class=\"primary\" autofocus>Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" class=\"secondary\">Deny</button>\
         </div>\n</form>\n{qr}",
        code = escape(c.user_code),
        client = escape(c.client_name),
        user = escape(c.username),
        csrf = hidden("csrf", c.csrf),
        user_code = hidden("user_code", c.user_code),
    );
    page(200, "Connect a device", &main, None)
}

/// After the decision.
pub fn done(approved: bool, client_name: &str) -> HttpResponse {
    let main = if approved {
        format!(
            "<h1 id=\"device-approved\">Device connected</h1>\n\
             <p><strong id=\"client-name\">{}</strong> can now continue on your device. You can close this page.</p>\n",
            escape(client_name)
        )
    } else {
        format!(
            "<h1 id=\"device-denied\">Request denied</h1>\n\
             <p><strong id=\"client-name\">{}</strong> was not given access. You can close this page.</p>\n",
            escape(client_name)
        )
    };
    page(200, "Connect a device", &main, None)
}
