//! End-to-end tests: each starts the project runner (`authrim up`) on a free
//! port with its own data directory and speaks HTTP to it like a client.
//! The runner binary comes from `AUTHRIM_BIN` (set by scripts/test) or
//! target/runner/authrim; the components must have been built
//! (scripts/build).

mod harness;

mod auth;
mod browser;
mod ciba;
mod ciba_hints;
mod device;
mod discovery;
mod dpop;
mod durability;
mod front_jwe;
mod http_errors;
mod hybrid;
mod interop;
mod jar;
mod jarm;
mod jwe;
mod jwt_bearer;
mod keys;
mod management;
mod size_budgets;
mod token;
mod trusted_issuers;
mod userinfo;
