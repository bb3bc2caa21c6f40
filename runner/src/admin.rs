//! Admin operations. They write through the SAME op-store component the
//! app uses (never through SQL of their own): the runner instantiates the
//! `.wasm` that `spin.toml` declares for the `authrim:store` dependency,
//! gives it the `default` SQLite database and every application variable,
//! and calls its exports (`wit/store.wit`, world `store`).
//!
//! To add an operation (e.g. `admin user add`): add a method on
//! [`StoreClient`] calling the export, and a subcommand in `cli.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{Result, Store, UpdateDeadline, error::Context as _, format_err};

use crate::allowed_hosts::AllowedHosts;
use crate::app::App;
use crate::host::{Grants, HostState};
use crate::variables::ComponentVariables;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/store.wit",
        world: "store",
        exports: { default: async },
    });
}

pub use bindings::exports::authrim::store::clients::Client;
pub use bindings::exports::authrim::store::keys::KeyInfo;
pub use bindings::exports::authrim::store::trusted_issuers::{SubjectMapping, TrustedIssuer};
pub use bindings::exports::authrim::store::types::StoreError;
pub use bindings::exports::authrim::store::users::User;

/// The package whose dependency path names the op-store component.
pub const STORE_PACKAGE: &str = "authrim:store";

/// Time limit of one admin call (RSA key generation takes seconds in wasm).
const CALL_LIMIT: Duration = Duration::from_secs(300);

fn store_err(op: &str, e: StoreError) -> wasmtime::Error {
    format_err!("op-store {op}: {e:?}")
}

/// A handle on the op-store component for admin calls.
pub struct StoreClient {
    app: Arc<App>,
    pre: bindings::StorePre<HostState>,
    grants: Arc<Grants>,
}

impl StoreClient {
    pub fn new(app: Arc<App>) -> Result<Self> {
        let path = app
            .manifest
            .dependency_path_for_package(STORE_PACKAGE)
            .ok_or_else(|| {
                format_err!(
                    "spin.toml declares no `{STORE_PACKAGE}` dependency: cannot find the op-store component"
                )
            })?;
        let bytes = std::fs::read(&path)
            .map_err(|e| format_err!("cannot read op-store component {}: {e}", path.display()))?;
        let component =
            crate::engine::load_component(&app.engine, &bytes, app.cache_dir.as_deref())
                .with_context(|| format!("cannot compile {}", path.display()))?;
        let pre = app
            .linker
            .instantiate_pre(&component)
            .with_context(|| format!("cannot link {}", path.display()))?;
        let pre = bindings::StorePre::new(pre)
            .with_context(|| format!("{} does not export the store world", path.display()))?;
        let grants = Arc::new(Grants {
            component_id: "op-store (admin)".into(),
            sqlite_databases: ["default".to_string()].into(),
            key_value_stores: Default::default(),
            variables: ComponentVariables::all_of("op-store", &app.variables),
            allowed_hosts: AllowedHosts::default(),
            environment: Vec::new(),
        });
        Ok(Self { app, pre, grants })
    }

    async fn instance(&self) -> Result<(Store<HostState>, bindings::Store)> {
        let mut store = Store::new(
            &self.app.engine,
            HostState::new(self.grants.clone(), self.app.dbs.clone(), None, None),
        );
        let deadline = Instant::now() + CALL_LIMIT;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let bindings = self.pre.instantiate_async(&mut store).await?;
        Ok((store, bindings))
    }

    /// `keys.ensure-keys`: an active key for every supported algorithm.
    pub async fn ensure_keys(&self) -> Result<Vec<KeyInfo>> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_keys()
            .call_ensure_keys(&mut store)
            .await?
            .map_err(|e| store_err("ensure-keys", e))
    }

    /// `keys.rotate`.
    pub async fn rotate_key(
        &self,
        alg: &str,
        publish_delay: i64,
        retention: i64,
    ) -> Result<KeyInfo> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_keys()
            .call_rotate(&mut store, alg, publish_delay, retention)
            .await?
            .map_err(|e| store_err("rotate", e))
    }

    /// `keys.list-keys`.
    pub async fn list_keys(&self) -> Result<Vec<KeyInfo>> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_keys()
            .call_list_keys(&mut store)
            .await?
            .map_err(|e| store_err("list-keys", e))
    }

    /// `users.create`.
    pub async fn create_user(&self, user: &User) -> Result<()> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_users()
            .call_create(&mut store, user)
            .await?
            .map_err(|e| store_err("users.create", e))
    }

    /// `users.find-by-username`.
    pub async fn find_user(&self, username: &str) -> Result<Option<User>> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_users()
            .call_find_by_username(&mut store, username)
            .await?
            .map_err(|e| store_err("users.find-by-username", e))
    }

    /// `users.list`, every page.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        let mut all: Vec<User> = Vec::new();
        loop {
            let (mut store, b) = self.instance().await?;
            let after = all.last().map(|u| u.id.clone());
            let page = b
                .authrim_store_users()
                .call_list(&mut store, 100, after.as_deref())
                .await?
                .map_err(|e| store_err("users.list", e))?;
            let done = page.len() < 100;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// `users.delete`.
    pub async fn delete_user(&self, id: &str) -> Result<bool> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_users()
            .call_delete(&mut store, id)
            .await?
            .map_err(|e| store_err("users.delete", e))
    }

    /// `user-codes.set`.
    pub async fn set_user_code(&self, user_id: &str, code_hash: &str, now: i64) -> Result<()> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_user_codes()
            .call_set(&mut store, user_id, code_hash, now)
            .await?
            .map_err(|e| store_err("user-codes.set", e))
    }

    /// `user-codes.clear`.
    pub async fn clear_user_code(&self, user_id: &str) -> Result<bool> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_user_codes()
            .call_clear(&mut store, user_id)
            .await?
            .map_err(|e| store_err("user-codes.clear", e))
    }

    /// `clients.create`, then `clients.set-secret` when a secret is given.
    pub async fn create_client(
        &self,
        client: &Client,
        secret: Option<&str>,
        keep_for_mac: bool,
    ) -> Result<()> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_clients()
            .call_create(&mut store, client)
            .await?
            .map_err(|e| store_err("clients.create", e))?;
        if let Some(secret) = secret {
            let (mut store, b) = self.instance().await?;
            b.authrim_store_clients()
                .call_set_secret(&mut store, &client.client_id, secret, keep_for_mac)
                .await?
                .map_err(|e| store_err("clients.set-secret", e))?;
        }
        Ok(())
    }

    /// `clients.get`.
    pub async fn get_client(&self, client_id: &str) -> Result<Option<Client>> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_clients()
            .call_get(&mut store, client_id)
            .await?
            .map_err(|e| store_err("clients.get", e))
    }

    /// `clients.list`, every page.
    pub async fn list_clients(&self) -> Result<Vec<Client>> {
        let mut all: Vec<Client> = Vec::new();
        loop {
            let (mut store, b) = self.instance().await?;
            let after = all.last().map(|c| c.client_id.clone());
            let page = b
                .authrim_store_clients()
                .call_list(&mut store, 100, after.as_deref())
                .await?
                .map_err(|e| store_err("clients.list", e))?;
            let done = page.len() < 100;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// `clients.delete`.
    pub async fn delete_client(&self, client_id: &str) -> Result<bool> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_clients()
            .call_delete(&mut store, client_id)
            .await?
            .map_err(|e| store_err("clients.delete", e))
    }

    /// `trusted-issuers.put`.
    pub async fn put_issuer(&self, issuer: &TrustedIssuer) -> Result<()> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_trusted_issuers()
            .call_put(&mut store, issuer)
            .await?
            .map_err(|e| store_err("trusted-issuers.put", e))
    }

    /// `trusted-issuers.list`.
    pub async fn list_issuers(&self) -> Result<Vec<TrustedIssuer>> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_trusted_issuers()
            .call_list(&mut store)
            .await?
            .map_err(|e| store_err("trusted-issuers.list", e))
    }

    /// `trusted-issuers.remove`.
    pub async fn remove_issuer(&self, issuer: &str) -> Result<bool> {
        let (mut store, b) = self.instance().await?;
        b.authrim_store_trusted_issuers()
            .call_remove(&mut store, issuer)
            .await?
            .map_err(|e| store_err("trusted-issuers.remove", e))
    }
}

/// Formats keys as a table for the terminal.
pub fn format_keys(keys: &[KeyInfo]) -> String {
    let mut out = format!(
        "{:<44} {:<6} {:<8} {:<12} {:<12} {}\n",
        "KID", "ALG", "SIGNING", "CREATED", "ACTIVATES", "PUBLISHED UNTIL"
    );
    for k in keys {
        out.push_str(&format!(
            "{:<44} {:<6} {:<8} {:<12} {:<12} {}\n",
            k.kid,
            k.alg,
            if k.signing { "yes" } else { "no" },
            k.created_at,
            k.activates_at,
            k.publish_until
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into())
        ));
    }
    out
}
