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

pub use bindings::exports::authrim::store::keys::KeyInfo;
pub use bindings::exports::authrim::store::types::StoreError;

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
            HostState::new(self.grants.clone(), self.app.dbs.clone(), None),
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
