//! `op-store`: the component that owns every row of Authrim's state.
//!
//! It exports the interfaces of `wit/store.wit` (world `store`); endpoint
//! components import them and are composed with it. It is the only code
//! that writes SQL; the schema is `migrations/`, applied before serving.
//!
//! Shape: a pure core and a thin adapter.
//! - [`sql`]: the seam, a one-method [`sql::Sql`] trait.
//! - [`keys`], [`clients`], [`users`], [`sessions`], [`codes`], [`grants`],
//!   [`one_time`], [`consents`], [`rate_limits`], [`device_grants`], [`trusted_issuers`],
//!   [`ciba_requests`], [`user_codes`]: the store logic, one module per interface, written
//!   against `Sql` and tested natively with rusqlite on the real schema.
//! - `component` (wasm32 only): implements `Sql` with Spin's SQLite, reads
//!   the clock, the `master_key` variable and `wasi:random`, and exports
//!   the WIT interfaces by delegating to the core.
//!
//! Every state change that security depends on is one conditional statement
//! or one `BEGIN IMMEDIATE` transaction; see README.md beside this crate.

pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "authrim:store/store",
        // For tests; unused impls cost nothing in the component.
        additional_derives: [PartialEq, Eq],
    });
}

pub mod ciba_requests;
pub mod clients;
pub mod codes;
pub mod consents;
pub mod device_grants;
pub mod dpop;
pub mod enc_keys;
pub mod grants;
mod json;
pub mod keys;
pub mod one_time;
pub mod rate_limits;
pub mod sessions;
pub mod sql;
pub mod trusted_issuers;
pub mod user_codes;
pub mod users;

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use bindings::exports::authrim::store::ciba_requests::{
    CibaApproval, CibaPollOutcome, CibaRequest,
};
pub use bindings::exports::authrim::store::clients::Client;
pub use bindings::exports::authrim::store::codes::{AuthCode, RedeemOutcome};
pub use bindings::exports::authrim::store::consents::Consent;
pub use bindings::exports::authrim::store::device_grants::{
    DeviceApproval, DeviceRequest, PollOutcome,
};
pub use bindings::exports::authrim::store::dpop::BoundGrant;
pub use bindings::exports::authrim::store::grants::{AccessToken, Grant, RotateOutcome};
pub use bindings::exports::authrim::store::keys::KeyInfo;
pub use bindings::exports::authrim::store::sessions::Session;
pub use bindings::exports::authrim::store::trusted_issuers::{SubjectMapping, TrustedIssuer};
pub use bindings::exports::authrim::store::types::StoreError;
pub use bindings::exports::authrim::store::users::User;
