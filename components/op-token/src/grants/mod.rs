//! One file per grant type. Each receives the parsed parameters and the
//! authenticated client (whose registration allows the grant) and returns
//! the token response or the error to answer with.

pub mod authorization_code;
pub mod ciba;
pub mod client_credentials;
pub mod decoupled;
pub mod device_code;
pub mod jwt_bearer;
pub mod refresh_token;
