//! The login, consent and logout pages. Element ids are stable (browser
//! tests and assistive technology rely on them):
//!
//! | page | ids |
//! |---|---|
//! | login | `#username`, `#password`, `#sign-in`, `#login-error` (role=alert), `#client-name` |
//! | consent | `#consent-scopes`, `#consent-user`, `#approve`, `#deny`, `#client-name` |
//! | logout | `#sign-out`; signed out: `#signed-out` |
//! | error | `#error-code`, `#error-description` |
//!
//! Every form carries `interaction` (or `logout`) and `csrf` as hidden
//! fields; every input has a `<label>`; the first field to fill has
//! `autofocus`; the DOM order is the focus order; errors are announced
//! (`role="alert"`) and tied to the fields (`aria-describedby`,
//! `aria-invalid`).

use crate::html::{escape, page};
use authrim_protocol::HttpResponse;

pub struct LoginForm<'a> {
    pub client_name: &'a str,
    pub interaction: &'a str,
    pub csrf: &'a str,
    pub username: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Where a successful sign-in may redirect (the client's redirect URI).
    pub redirect_target: &'a str,
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n",
        escape(value)
    )
}

pub fn login(status: u16, f: &LoginForm) -> HttpResponse {
    let error = f
        .error
        .map(|e| {
            format!(
                "<p id=\"login-error\" class=\"error\" role=\"alert\">{}</p>\n",
                escape(e)
            )
        })
        .unwrap_or_default();
    let invalid = if f.error.is_some() {
        " aria-invalid=\"true\" aria-describedby=\"login-error\""
    } else {
        ""
    };
    let username = f.username.unwrap_or("");
    let (focus_user, focus_password) = if username.is_empty() {
        (" autofocus", "")
    } else {
        ("", " autofocus")
    };
    let main = format!(
        "<h1>Sign in</h1>\n\
         <p>to continue to <strong id=\"client-name\">{client}</strong></p>\n\
         {error}\
         <form method=\"post\" action=\"login\">\n\
         {interaction}{csrf}\
         <label for=\"username\">Username</label>\n\
         <input id=\"username\" name=\"username\" type=\"text\" value=\"{username}\" \
         autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required{focus_user}{invalid}>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" \
         autocomplete=\"current-password\" required{focus_password}{invalid}>\n\
         <div class=\"actions\"><button type=\"submit\" id=\"sign-in\" class=\"primary\">Sign in</button></div>\n\
         </form>\n",
        client = escape(f.client_name),
        interaction = hidden("interaction", f.interaction),
        csrf = hidden("csrf", f.csrf),
        username = escape(username),
    );
    page(status, "Sign in", &main, Some(f.redirect_target))
}

pub use authrim_oauth::html::{claim_label, permission_items};

pub struct ConsentForm<'a> {
    pub client_name: &'a str,
    pub username: &'a str,
    pub interaction: &'a str,
    pub csrf: &'a str,
    pub items: &'a [String],
    pub redirect_target: &'a str,
}

pub fn consent(f: &ConsentForm) -> HttpResponse {
    let items: String = f.items.iter().map(|i| format!("<li>{i}</li>\n")).collect();
    let main = format!(
        "<h1>Allow access?</h1>\n\
         <p><strong id=\"client-name\">{client}</strong> is asking to:</p>\n\
         <ul id=\"consent-scopes\">\n{items}</ul>\n\
         <p class=\"muted\">You are signed in as <strong id=\"consent-user\">{user}</strong>.</p>\n\
         <form method=\"post\" action=\"consent\">\n\
         {interaction}{csrf}\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\" class=\"primary\" autofocus>Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\" class=\"secondary\">Deny</button>\
         </div>\n</form>\n",
        client = escape(f.client_name),
        user = escape(f.username),
        interaction = hidden("interaction", f.interaction),
        csrf = hidden("csrf", f.csrf),
    );
    page(200, "Allow access", &main, Some(f.redirect_target))
}

pub fn logout_confirm(
    client_name: Option<&str>,
    id: &str,
    csrf: &str,
    target: Option<&str>,
) -> HttpResponse {
    let from = client_name
        .map(|c| {
            format!(
                " <strong id=\"client-name\">{}</strong> asked to sign you out.",
                escape(c)
            )
        })
        .unwrap_or_default();
    let main = format!(
        "<h1>Sign out?</h1>\n\
         <p>{from} Signing out ends your session in this browser for every application that uses this account.</p>\n\
         <form method=\"post\" action=\"logout\">\n{}{}\
         <div class=\"actions\"><button type=\"submit\" id=\"sign-out\" class=\"primary\" autofocus>Sign out</button></div>\n\
         </form>\n",
        hidden("logout", id),
        hidden("csrf", csrf),
    );
    page(200, "Sign out", &main, target)
}

pub fn signed_out() -> HttpResponse {
    page(
        200,
        "Signed out",
        "<h1 id=\"signed-out\">You are signed out</h1>\n<p>You can close this window.</p>\n",
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_page_headers;
    use authrim_oauth::claims::ClaimsRequest;
    use authrim_oauth::scope::Scope;

    fn body(r: &HttpResponse) -> String {
        String::from_utf8(r.body.clone()).unwrap()
    }

    #[test]
    fn login_form_is_labelled_and_focuses_the_first_empty_field() {
        let f = LoginForm {
            client_name: "Demo <App>",
            interaction: "i1",
            csrf: "c1",
            username: None,
            error: None,
            redirect_target: "https://client.example.org/cb",
        };
        let r = login(200, &f);
        assert_page_headers(&r);
        let b = body(&r);
        assert!(b.contains("<label for=\"username\">") && b.contains("<label for=\"password\">"));
        assert!(b.contains("required autofocus>"), "{b}");
        assert!(b.contains("Demo &lt;App&gt;"));
        assert!(b.contains("name=\"csrf\" value=\"c1\""));
        assert!(!b.contains("role=\"alert\""));
        assert!(b.find("id=\"username\"") < b.find("id=\"password\""));
        assert!(b.find("id=\"password\"") < b.find("id=\"sign-in\""));

        let r = login(
            400,
            &LoginForm {
                username: Some("al\"ice"),
                error: Some("Incorrect username or password."),
                ..f
            },
        );
        let b = body(&r);
        assert_eq!(r.status, 400);
        assert!(b.contains("value=\"al&quot;ice\""));
        assert!(b.contains("id=\"login-error\" class=\"error\" role=\"alert\""));
        assert!(b.contains("aria-describedby=\"login-error\""));
        assert!(b.contains("required autofocus aria-invalid=\"true\""));
    }

    #[test]
    fn permissions_in_words() {
        let scope = Scope::parse("openid email offline_access urn:x:read").unwrap();
        let items = permission_items(&scope, None);
        assert_eq!(items.len(), 4);
        assert!(items[0].starts_with("Confirm your identity"));
        assert!(items[1].contains("<li>Email address</li>"));
        assert!(items[2].contains("offline access"));
        assert!(items[3].contains("“urn:x:read”"));
        let claims = ClaimsRequest::parse(r#"{"id_token":{"birthdate":null}}"#).unwrap();
        let items = permission_items(&Scope::parse("openid").unwrap(), Some(&claims));
        assert!(items[1].contains("Date of birth"));
    }

    #[test]
    fn consent_and_logout_pages() {
        let items = vec!["Confirm your identity".to_string()];
        let r = consent(&ConsentForm {
            client_name: "Demo",
            username: "alice",
            interaction: "i1",
            csrf: "c1",
            items: &items,
            redirect_target: "https://client.example.org/cb",
        });
        assert_page_headers(&r);
        let b = body(&r);
        assert!(b.contains("id=\"approve\"") && b.contains("id=\"deny\""));
        assert!(b.contains("<strong id=\"consent-user\">alice</strong>"));
        let r = logout_confirm(Some("Demo"), "l1", "c1", None);
        assert_page_headers(&r);
        assert!(body(&r).contains("name=\"logout\" value=\"l1\""));
        assert!(body(&signed_out()).contains("id=\"signed-out\""));
    }
}
