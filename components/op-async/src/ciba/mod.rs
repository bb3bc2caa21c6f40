//! OpenID Connect CIBA Core 1.0, the parts served by op-async: the
//! backchannel authentication endpoint (`authorize`) and the page where
//! the user approves or denies (`approval`, the "authentication device"
//! of this OP), and the ping- and push-mode callbacks (`notify`). The pure parts (parameters, delivery modes) are
//! `authrim_oauth::ciba`; the state is op-store's `ciba-requests`; the
//! token endpoint's grant is op-token's `grants::ciba`.

pub mod approval;
pub mod authorize;
pub mod hint_token;
pub mod notify;
pub mod pages;
pub mod user_code;
pub mod webhook;

#[cfg(test)]
mod hint_tests;
#[cfg(test)]
mod tests;

/// CIBA Core §4 `backchannel_authentication_endpoint`.
pub const AUTHORIZE_PATH: &str = "/bc-authorize";
/// The approval page (op-auth's `/login` may return here).
pub const APPROVAL_PATH: &str = "/bc-approve";
