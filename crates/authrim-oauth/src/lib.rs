//! OAuth 2.0 and OpenID Connect logic shared by the endpoint components,
//! free of I/O: endpoint components parse at the edge with these types, ask
//! op-store for what they need, and render errors through
//! `authrim_protocol::OAuthError`.

// Transport-level parsing and client concerns.
pub mod assertion;
pub mod client_auth;
pub mod client_lookup;
pub mod client_metadata;
pub mod device;
pub mod dpop;
pub mod encryption;
pub mod form;
pub mod pkce;

// Authorization request / response and tokens.
pub mod authorize;
pub mod ciba;
pub mod claims;
pub mod front_channel;
pub mod id_token;
pub mod id_token_hint;
pub mod request_object;
pub mod response_mode;
pub mod scope;

// Server-rendered pages and the login session's cookie.
pub mod html;
pub mod session_cookie;
