//! OAuth 2.0 and OpenID Connect logic shared by the endpoint components,
//! free of I/O: endpoint components parse at the edge with these types, ask
//! op-store for what they need, and render errors through
//! `authrim_protocol::OAuthError`.

// Transport-level parsing and client concerns.
pub mod client_auth;
pub mod client_metadata;
pub mod form;
pub mod pkce;

// Authorization request / response and tokens.
pub mod authorize;
pub mod claims;
pub mod front_channel;
pub mod id_token;
pub mod response_mode;
pub mod scope;
