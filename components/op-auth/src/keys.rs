//! The client's JWK Set, for what op-auth encrypts to it: front-channel
//! ID Tokens (`id_token_encrypted_response_alg`, OIDC Core §3.2.2.10,
//! §3.3.2.11) and JARM responses (`authorization_encrypted_response_alg`,
//! JARM §2.2). Its `jwks`, or its `jwks_uri` fetched on each use (as
//! op-token does), so a client that rotates keys is not sent a token for an
//! old one. No fitting key is the client's error (`encryption::no_key`):
//! nothing is then issued in plaintext.

use crate::flow::load_client;
use crate::Env;
use authrim_jose::Jwks;
use authrim_oauth::client_lookup::{parse_fetched_keys, registered_keys, RegisteredKeys};
use authrim_oauth::client_metadata::{ClientId, ClientMetadata};
use authrim_oauth::encryption::{no_key, KeyAlg};
use authrim_oauth::response_mode::ClientKeys;
use authrim_protocol::OAuthError;

/// The member that registered JARM encryption, for error messages.
pub const JARM_MEMBER: &str = "authorization_encrypted_response_alg";
/// The member that registered ID Token encryption.
pub const ID_TOKEN_MEMBER: &str = "id_token_encrypted_response_alg";

/// The client's keys, fetched once, holding a key for each of `needs`
/// (the registering member and its `alg`); `None` when `needs` is empty.
pub fn keys_for(
    env: &Env,
    client_id: &ClientId,
    metadata: &ClientMetadata,
    needs: &[(&str, KeyAlg)],
) -> Result<Option<Jwks>, OAuthError> {
    let Some(&(member, alg)) = needs.first() else {
        return Ok(None);
    };
    let fetched = registered_keys(metadata, client_id).and_then(|source| match source {
        RegisteredKeys::Set(jwks) => Ok(jwks),
        RegisteredKeys::Uri(uri) => parse_fetched_keys(uri, &env.store.fetch_jwks(uri)?),
    });
    let keys = fetched.map_err(|why| {
        crate::log(&format!("client {client_id}: encryption keys: {why}"));
        no_key(member, alg)
    })?;
    if let Some(&(member, alg)) = needs
        .iter()
        .find(|(_, alg)| keys.select_encryption(*alg).is_none())
    {
        return Err(no_key(member, alg));
    }
    Ok(Some(keys))
}

/// For JARM error responses, which know only the client's id.
impl ClientKeys for Env<'_> {
    fn client_keys(&self, client_id: &str) -> Result<Jwks, OAuthError> {
        let (id, metadata) = ClientId::parse(client_id)
            .zip(load_client(self, client_id)?.map(|(_, m)| m))
            .ok_or_else(OAuthError::server_error)?;
        let Some((alg, _)) = metadata.authorization_encryption() else {
            // The registration changed since the request was validated.
            return Err(OAuthError::server_error());
        };
        keys_for(self, &id, &metadata, &[(JARM_MEMBER, alg)])?.ok_or_else(OAuthError::server_error)
    }
}
