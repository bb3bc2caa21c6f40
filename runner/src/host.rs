//! The host side of a component instance: WASI 0.2, wasi:http, and the three
//! Spin interfaces (`fermyon:spin/{sqlite,key-value,variables}@2.0.0`), with
//! exactly the grants the manifest declares for the component.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Engine, Result};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use crate::allowed_hosts::{AllowedHosts, chaining_target};
use crate::db::{Databases, PooledConnection};
use crate::variables::{ComponentVariables, GetError};

mod bindings {
    wasmtime::component::bindgen!({
        path: "wit",
        world: "host",
        with: {
            "fermyon:spin/sqlite.connection": crate::host::SqliteConnection,
            "fermyon:spin/key-value.store": crate::host::KvStore,
        },
    });
}

pub use bindings::fermyon::spin::{key_value, sqlite, variables};

/// The import names of the Spin interfaces the runner implements.
pub const SPIN_IMPORTS: [&str; 3] = [
    "fermyon:spin/sqlite@2.0.0",
    "fermyon:spin/key-value@2.0.0",
    "fermyon:spin/variables@2.0.0",
];

/// Largest result a single SQLite query or key listing may return to a
/// guest (Spin's `MAX_HOST_BUFFERED_BYTES`).
const MAX_RESULT_BYTES: usize = 128 << 20;

/// What one component may use, from its `[component.ID]` table.
#[derive(Debug)]
pub struct Grants {
    pub component_id: String,
    pub sqlite_databases: BTreeSet<String>,
    pub key_value_stores: BTreeSet<String>,
    pub variables: ComponentVariables,
    pub allowed_hosts: AllowedHosts,
    pub environment: Vec<(String, String)>,
}

/// A guest's open SQLite connection: a pooled connection, held until the
/// guest drops the resource.
pub struct SqliteConnection {
    conn: PooledConnection,
}

/// A guest's open key-value store.
pub struct KvStore {
    label: String,
    pool: Arc<crate::db::Pool>,
}

/// What runs a chained request (`http://<id>.spin.internal/...`): the HTTP
/// server, which dispatches it in-process to component `<id>`.
pub trait ChainTarget: Send + Sync {
    /// Runs `request` (from component `caller`) on component `target`.
    fn call(
        self: Arc<Self>,
        caller: String,
        target: String,
        request: http::Request<WasiBody>,
    ) -> Pin<Box<dyn Future<Output = wasmtime_wasi_http::Result<http::Response<WasiBody>>> + Send>>;
}

/// The data of one `Store`: one request (or one admin call).
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    hooks: OutboundHttp,
    grants: Arc<Grants>,
    dbs: Arc<Databases>,
}

impl HostState {
    /// `self_origin` serves relative ("self") requests and `chain` chained
    /// ones; without them (admin calls) such requests fail.
    pub fn new(
        grants: Arc<Grants>,
        dbs: Arc<Databases>,
        self_origin: Option<SocketAddr>,
        chain: Option<Arc<dyn ChainTarget>>,
    ) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr();
        wasi.envs(&grants.environment);
        Self {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            hooks: OutboundHttp {
                grants: grants.clone(),
                self_origin,
                chain,
            },
            grants,
            dbs,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Adds everything a Spin component may import to `linker`.
pub fn linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    sqlite::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    key_value::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    variables::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)?;
    Ok(linker)
}

/// SQLite and key-value calls block. They run on the tokio worker thread
/// the guest runs on, wrapped in `block_in_place`, which moves that
/// worker's other tasks to another thread while the call blocks. The
/// alternative, `spawn_blocking`, would need the connection moved out of the
/// guest's resource for every call and back afterwards, and a thread
/// hand-off per statement; statements are short (indexed queries), and a
/// connection must stay with its resource for multi-statement transactions.
/// (Spin's own SQLite key-value store makes the same choice.)
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

// ---------------------------------------------------------------- sqlite

impl sqlite::Host for HostState {}

impl sqlite::HostConnection for HostState {
    fn open(&mut self, database: String) -> Result<Resource<SqliteConnection>, sqlite::Error> {
        // Spin checks the grant first: an unlisted label is access-denied
        // whether or not it exists.
        if !self.grants.sqlite_databases.contains(&database) {
            return Err(sqlite::Error::AccessDenied);
        }
        let pool = self
            .dbs
            .sqlite
            .get(&database)
            .ok_or(sqlite::Error::NoSuchDatabase)?
            .clone();
        let conn = blocking(|| pool.get()).map_err(|e| sqlite::Error::Io(e.to_string()))?;
        self.table
            .push(SqliteConnection { conn })
            .map_err(|e| sqlite::Error::Io(e.to_string()))
    }

    fn execute(
        &mut self,
        self_: Resource<SqliteConnection>,
        statement: String,
        parameters: Vec<sqlite::Value>,
    ) -> Result<sqlite::QueryResult, sqlite::Error> {
        let c = self
            .table
            .get(&self_)
            .map_err(|_| sqlite::Error::InvalidConnection)?;
        blocking(|| execute(&c.conn, &statement, parameters))
    }

    fn drop(&mut self, rep: Resource<SqliteConnection>) -> Result<()> {
        let c = self.table.delete(rep)?;
        // Returning may run a ROLLBACK.
        blocking(move || drop(c));
        Ok(())
    }
}

fn execute(
    conn: &rusqlite::Connection,
    statement: &str,
    parameters: Vec<sqlite::Value>,
) -> Result<sqlite::QueryResult, sqlite::Error> {
    use rusqlite::types::{Value as V, ValueRef};
    let io = |e: rusqlite::Error| sqlite::Error::Io(e.to_string());
    let mut stmt = conn.prepare_cached(statement).map_err(io)?;
    let columns: Vec<String> = stmt
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let n = columns.len();
    let params = parameters.into_iter().map(|p| match p {
        sqlite::Value::Integer(i) => V::Integer(i),
        sqlite::Value::Real(r) => V::Real(r),
        sqlite::Value::Text(t) => V::Text(t),
        sqlite::Value::Blob(b) => V::Blob(b),
        sqlite::Value::Null => V::Null,
    });
    let mut rows = stmt.query(rusqlite::params_from_iter(params)).map_err(io)?;
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = rows.next().map_err(io)? {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            let v = match row.get_ref(i).map_err(io)? {
                ValueRef::Null => sqlite::Value::Null,
                ValueRef::Integer(i) => sqlite::Value::Integer(i),
                ValueRef::Real(r) => sqlite::Value::Real(r),
                ValueRef::Text(t) => {
                    bytes += t.len();
                    sqlite::Value::Text(String::from_utf8_lossy(t).into_owned())
                }
                ValueRef::Blob(b) => {
                    bytes += b.len();
                    sqlite::Value::Blob(b.to_vec())
                }
            };
            bytes += 16;
            values.push(v);
        }
        if bytes > MAX_RESULT_BYTES {
            return Err(sqlite::Error::Io(format!(
                "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
            )));
        }
        out.push(sqlite::RowResult { values });
    }
    Ok(sqlite::QueryResult { columns, rows: out })
}

// ------------------------------------------------------------- key-value

impl key_value::Host for HostState {}

impl HostState {
    fn kv(
        &self,
        store: &Resource<KvStore>,
    ) -> Result<(String, Arc<crate::db::Pool>), key_value::Error> {
        let s = self
            .table
            .get(store)
            .map_err(|e| key_value::Error::Other(e.to_string()))?;
        Ok((s.label.clone(), s.pool.clone()))
    }
}

fn kv_err(e: rusqlite::Error) -> key_value::Error {
    key_value::Error::Other(e.to_string())
}

impl key_value::HostStore for HostState {
    fn open(&mut self, label: String) -> Result<Resource<KvStore>, key_value::Error> {
        if !self.grants.key_value_stores.contains(&label) {
            return Err(key_value::Error::AccessDenied);
        }
        let pool = self
            .dbs
            .kv
            .get(&label)
            .ok_or(key_value::Error::NoSuchStore)?
            .clone();
        self.table
            .push(KvStore { label, pool })
            .map_err(|_| key_value::Error::StoreTableFull)
    }

    fn get(
        &mut self,
        self_: Resource<KvStore>,
        key: String,
    ) -> Result<Option<Vec<u8>>, key_value::Error> {
        let (label, pool) = self.kv(&self_)?;
        blocking(|| {
            let c = pool.get().map_err(kv_err)?;
            let mut stmt = c
                .prepare_cached("SELECT value FROM spin_key_value WHERE store=$1 AND key=$2")
                .map_err(kv_err)?;
            let mut rows = stmt.query([&label, &key]).map_err(kv_err)?;
            match rows.next().map_err(kv_err)? {
                Some(row) => Ok(Some(row.get::<_, Vec<u8>>(0).map_err(kv_err)?)),
                None => Ok(None),
            }
        })
    }

    fn set(
        &mut self,
        self_: Resource<KvStore>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), key_value::Error> {
        let (label, pool) = self.kv(&self_)?;
        blocking(|| {
            let c = pool.get().map_err(kv_err)?;
            c.prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES ($1, $2, $3)
                 ON CONFLICT(store, key) DO UPDATE SET value=$3",
            )
            .map_err(kv_err)?
            .execute(rusqlite::params![label, key, value])
            .map_err(kv_err)
            .map(drop)
        })
    }

    fn delete(&mut self, self_: Resource<KvStore>, key: String) -> Result<(), key_value::Error> {
        let (label, pool) = self.kv(&self_)?;
        blocking(|| {
            let c = pool.get().map_err(kv_err)?;
            c.prepare_cached("DELETE FROM spin_key_value WHERE store=$1 AND key=$2")
                .map_err(kv_err)?
                .execute([&label, &key])
                .map_err(kv_err)
                .map(drop)
        })
    }

    fn exists(&mut self, self_: Resource<KvStore>, key: String) -> Result<bool, key_value::Error> {
        let (label, pool) = self.kv(&self_)?;
        blocking(|| {
            let c = pool.get().map_err(kv_err)?;
            let mut stmt = c
                .prepare_cached("SELECT 1 FROM spin_key_value WHERE store=$1 AND key=$2")
                .map_err(kv_err)?;
            stmt.exists([&label, &key]).map_err(kv_err)
        })
    }

    fn get_keys(&mut self, self_: Resource<KvStore>) -> Result<Vec<String>, key_value::Error> {
        let (label, pool) = self.kv(&self_)?;
        blocking(|| {
            let c = pool.get().map_err(kv_err)?;
            let mut stmt = c
                .prepare_cached("SELECT key FROM spin_key_value WHERE store=$1")
                .map_err(kv_err)?;
            let mut bytes = 0usize;
            let mut keys = Vec::new();
            let mut rows = stmt.query([&label]).map_err(kv_err)?;
            while let Some(row) = rows.next().map_err(kv_err)? {
                let k: String = row.get(0).map_err(kv_err)?;
                bytes += k.len() + 24;
                if bytes > MAX_RESULT_BYTES {
                    return Err(key_value::Error::Other(format!(
                        "query result exceeds limit of {MAX_RESULT_BYTES} bytes"
                    )));
                }
                keys.push(k);
            }
            Ok(keys)
        })
    }

    fn drop(&mut self, rep: Resource<KvStore>) -> Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}

// ------------------------------------------------------------- variables

impl variables::Host for HostState {
    fn get(&mut self, name: String) -> Result<String, variables::Error> {
        self.grants.variables.get(&name).map_err(|e| match e {
            GetError::InvalidName(m) => variables::Error::InvalidName(m),
            GetError::Undefined(m) => variables::Error::Undefined(m),
        })
    }
}

// --------------------------------------------------------- outbound HTTP

/// `wasi:http/outgoing-handler`, restricted to `allowed_outbound_hosts`.
/// A request to any other host fails with `HttpRequestDenied`, as in Spin.
/// An allowed request to `<id>.spin.internal` is chained: run in-process by
/// component `<id>` (Spin's `OutboundHttpInterceptor`, which also runs after
/// the allowed-hosts check).
pub struct OutboundHttp {
    grants: Arc<Grants>,
    /// Where relative ("self") requests go: the runner's own listener.
    self_origin: Option<SocketAddr>,
    chain: Option<Arc<dyn ChainTarget>>,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl OutboundHttp {
    /// Checks a request against the grants and rewrites a relative
    /// ("self") request to the runner's own address.
    fn authorize(
        &self,
        request: &mut http::Request<WasiBody>,
    ) -> Result<(), wasmtime_wasi_http::Error> {
        use wasmtime_wasi_http::Error;
        let uri = request.uri();
        let is_self = match uri.authority() {
            Some(a) => a.host().is_empty() || a.host() == "self.alt",
            None => true,
        };
        if is_self {
            if !self
                .grants
                .allowed_hosts
                .allows_relative(&["http", "https"])
            {
                return Err(Error::HttpRequestDenied);
            }
            let Some(origin) = self.self_origin else {
                return Err(Error::HttpRequestUriInvalid);
            };
            let pq = uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            let new_uri: http::Uri = format!("http://{origin}{pq}")
                .parse()
                .map_err(|_| Error::HttpRequestUriInvalid)?;
            *request.uri_mut() = new_uri;
            if let Ok(v) = http::HeaderValue::from_str(&origin.to_string()) {
                request.headers_mut().insert(http::header::HOST, v);
            }
            return Ok(());
        }
        let scheme = uri.scheme_str().unwrap_or("https");
        let host = uri.host().unwrap_or_default();
        if !self
            .grants
            .allowed_hosts
            .allows(scheme, host, uri.port_u16())
        {
            return Err(Error::HttpRequestDenied);
        }
        Ok(())
    }
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        _ = fut;
        if let Err(e) = self.authorize(&mut request) {
            return Box::new(async move { Err(e) });
        }
        if let Some(target) = request.uri().host().and_then(chaining_target) {
            let Some(chain) = self.chain.clone() else {
                return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
            };
            let call = chain.call(
                self.grants.component_id.clone(),
                target.to_string(),
                request,
            );
            return Box::new(async move {
                let response = call.await?;
                let io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> =
                    Box::new(async { Ok(()) });
                Ok((response, io))
            });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            ))
        })
    }
}
