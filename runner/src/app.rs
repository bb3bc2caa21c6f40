//! Loading an app: manifest, runtime config, variables, databases, engine,
//! and the compiled components with their grants.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Result, bail, error::Context as _, format_err};
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::allowed_hosts::AllowedHosts;
use crate::db::Databases;
use crate::engine::{EngineOptions, EpochTicker, load_component, new_engine};
use crate::host::{Grants, HostState, SPIN_IMPORTS, linker};
use crate::manifest::{ComponentDecl, Manifest};
use crate::routes::Router;
use crate::runtime_config::RuntimeConfig;
use crate::variables::{AppVariables, ComponentVariables, Template};

/// Where to find the app and how to run it.
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub manifest: PathBuf,
    pub runtime_config: Option<PathBuf>,
    /// Compiled-component cache; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    pub engine: EngineOptions,
}

impl AppOptions {
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            runtime_config: None,
            cache_dir: None,
            engine: EngineOptions::default(),
        }
    }
}

/// A component ready to serve: compiled, linked, with its grants.
pub struct LoadedComponent {
    pub id: String,
    pub description: String,
    pub grants: Arc<Grants>,
    pub pre: ProxyPre<HostState>,
}

pub struct App {
    pub manifest: Manifest,
    pub runtime_config: RuntimeConfig,
    pub variables: AppVariables,
    pub engine: Engine,
    pub linker: Linker<HostState>,
    pub dbs: Arc<Databases>,
    pub router: Router,
    pub components: HashMap<String, Arc<LoadedComponent>>,
    pub cache_dir: Option<PathBuf>,
    max_instances: u32,
    _ticker: EpochTicker,
}

impl App {
    /// Loads and validates everything except the components themselves.
    /// `env` looks up `SPIN_VARIABLE_*` values.
    pub fn load(opts: &AppOptions, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let manifest = Manifest::load(&opts.manifest)?;
        let runtime_config = RuntimeConfig::load(opts.runtime_config.as_deref(), &manifest.dir)?;
        let variables = AppVariables::resolve(&manifest.variables, env)?;
        let router = Router::build(&manifest.triggers)?;

        // Spin refuses components that use stores the runtime config does
        // not define.
        let mut undefined = Vec::new();
        let mut used_sqlite = BTreeSet::from(["default".to_string()]);
        let mut used_kv = BTreeSet::new();
        for c in manifest.components.values() {
            for l in &c.sqlite_databases {
                if !runtime_config.sqlite_databases.contains_key(l) {
                    undefined.push(format!("- Component {} uses SQLite database '{l}'", c.id));
                }
                used_sqlite.insert(l.clone());
            }
            for l in &c.key_value_stores {
                if !runtime_config.key_value_stores.contains_key(l) {
                    undefined.push(format!("- Component {} uses key-value store '{l}'", c.id));
                }
                used_kv.insert(l.clone());
            }
        }
        if !undefined.is_empty() {
            bail!(
                "One or more components use stores which are not defined.\n\
                 Check the spelling, or pass a runtime configuration file that defines these stores.\n{}",
                undefined.join("\n")
            );
        }
        let pick = |all: &BTreeMap<String, PathBuf>, used: &BTreeSet<String>| {
            all.iter()
                .filter(|(l, _)| used.contains(*l))
                .map(|(l, p)| (l.clone(), p.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        let dbs = Databases::open(
            &pick(&runtime_config.sqlite_databases, &used_sqlite),
            &pick(&runtime_config.key_value_stores, &used_kv),
        )?;

        let engine = new_engine(&opts.engine)?;
        let ticker = EpochTicker::start(&engine);
        let linker = linker(&engine)?;
        Ok(Self {
            manifest,
            runtime_config,
            variables,
            engine,
            linker,
            dbs: Arc::new(dbs),
            router,
            components: HashMap::new(),
            cache_dir: opts.cache_dir.clone(),
            max_instances: opts.engine.max_instances,
            _ticker: ticker,
        })
    }

    /// How many instances the engine's pool holds.
    pub fn engine_max_instances(&self) -> u32 {
        self.max_instances
    }

    /// The path of the `default` SQLite database.
    pub fn default_database(&self) -> &Path {
        &self.runtime_config.sqlite_databases["default"]
    }

    /// The grants of a manifest component.
    pub fn grants_for(&self, c: &ComponentDecl) -> Result<Grants> {
        let variables = ComponentVariables::new(&c.id, &c.variables, &self.variables)?;
        // Spin expands `*.spin.internal` to every component of the app.
        let component_ids: Vec<&str> = self
            .manifest
            .components
            .keys()
            .map(String::as_str)
            .collect();
        let mut hosts = Vec::new();
        for (i, h) in c.allowed_outbound_hosts.iter().enumerate() {
            let t = Template::parse(h).map_err(|e| format_err!("{e}"))?;
            let resolved = t.render(&self.variables)?;
            let path = format!("component.{}.allowed_outbound_hosts[{i}]", c.id);
            AllowedHosts::parse(&[&resolved], &component_ids)
                .map_err(|e| format_err!("spin.toml: {path}: {e}"))?;
            hosts.push(resolved);
        }
        let allowed_hosts =
            AllowedHosts::parse(&hosts, &component_ids).map_err(|e| format_err!("{e}"))?;
        Ok(Grants {
            component_id: c.id.clone(),
            sqlite_databases: c.sqlite_databases.iter().cloned().collect(),
            key_value_stores: c.key_value_stores.iter().cloned().collect(),
            variables,
            allowed_hosts,
            environment: c
                .environment
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
    }

    /// Reads, composes and compiles a component, checking its imports.
    pub fn compile(&self, c: &ComponentDecl) -> Result<Component> {
        let bytes = std::fs::read(&c.source).map_err(|e| {
            format_err!(
                "component {:?}: cannot read source {} ({}): {e}",
                c.id,
                c.source_raw,
                c.source.display()
            )
        })?;
        let bytes = crate::compose::compose(c, bytes)?;
        let component = load_component(&self.engine, &bytes, self.cache_dir.as_deref())
            .with_context(|| format!("component {:?}: cannot compile", c.id))?;
        check_imports(&self.engine, &c.id, &component)?;
        Ok(component)
    }

    /// Compiles every component a trigger refers to.
    pub fn load_components(&mut self) -> Result<()> {
        let ids: BTreeSet<String> = self
            .manifest
            .triggers
            .iter()
            .map(|t| t.component.clone())
            .collect();
        for id in ids {
            let decl = self.manifest.components[&id].clone();
            let grants = Arc::new(self.grants_for(&decl)?);
            let component = self.compile(&decl)?;
            let pre = self
                .linker
                .instantiate_pre(&component)
                .with_context(|| format!("component {id:?}: cannot link"))?;
            let pre = ProxyPre::new(pre).with_context(|| {
                format!("component {id:?} does not export wasi:http/incoming-handler@0.2")
            })?;
            self.components.insert(
                id.clone(),
                Arc::new(LoadedComponent {
                    id,
                    description: decl.description.clone(),
                    grants,
                    pre,
                }),
            );
        }
        Ok(())
    }
}

/// Refuses a component that imports a Spin interface (or other host API)
/// the runner does not implement, naming the import.
fn check_imports(engine: &Engine, id: &str, component: &Component) -> Result<()> {
    use wasmtime::component::types::ComponentItem;
    for (name, item) in component.component_type().imports(engine) {
        if SPIN_IMPORTS.contains(&name) || name.starts_with("wasi:") && is_core_wasi(name) {
            continue;
        }
        // An instance that only exports types (e.g. `authrim:store/types`
        // when only `keys` is plugged) needs no definition, in wasmtime as
        // in Spin.
        if let ComponentItem::ComponentInstance(ty) = &item.ty
            && ty
                .exports(engine)
                .all(|(_, e)| matches!(e.ty, ComponentItem::Type(_)))
        {
            continue;
        }
        let what = if name.starts_with("fermyon:spin/")
            || name.starts_with("spin:")
            || name.starts_with("wasi:")
        {
            "a host interface the authrim runner does not implement"
        } else {
            "which no dependency in spin.toml satisfies"
        };
        bail!("component {id:?} imports {name:?}, {what}");
    }
    Ok(())
}

/// WASI 0.2 interfaces the runner provides (wasmtime-wasi, wasmtime-wasi-http).
fn is_core_wasi(name: &str) -> bool {
    let Some((iface, version)) = name.split_once('@') else {
        return false;
    };
    if !version.starts_with("0.2.") {
        return false;
    }
    matches!(
        iface.split_once('/').map(|(p, _)| p),
        Some(
            "wasi:cli"
                | "wasi:clocks"
                | "wasi:filesystem"
                | "wasi:io"
                | "wasi:random"
                | "wasi:sockets"
                | "wasi:http"
        )
    ) && iface != "wasi:http/handler"
}
