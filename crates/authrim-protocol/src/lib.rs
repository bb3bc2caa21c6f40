//! Protocol logic shared by Authrim's components, free of I/O so that it
//! builds and is tested natively as well as for wasm32-wasip2.

pub mod discovery;
pub mod error;
pub mod http;
pub mod issuer;
pub mod secret;

pub use error::{ErrorCode, OAuthError};
pub use http::HttpResponse;
pub use issuer::Issuer;
