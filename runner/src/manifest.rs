//! `spin.toml` (manifest version 2), read the way Spin reads it.
//!
//! The runner supports a strict subset of the manifest. Every key is checked:
//! a key or form the runner does not implement is refused at start with an
//! error naming the exact key path, e.g.
//! `spin.toml: component.op-x.files is not supported by the authrim runner`.
//! Half-supporting a manifest feature would make an app behave differently
//! under the runner and under Spin.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};
use wasmtime::{Result, bail, format_err};

use crate::variables::{Template, validate_variable_name};

/// A parsed and validated `spin.toml`.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The manifest file itself.
    pub path: PathBuf,
    /// The directory holding the manifest; relative paths resolve against it.
    pub dir: PathBuf,
    pub application: Application,
    /// `[variables]`, by name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[[trigger.http]]`, in manifest order.
    pub triggers: Vec<HttpTrigger>,
    /// `[component.ID]`, by id.
    pub components: BTreeMap<String, ComponentDecl>,
}

#[derive(Debug, Clone, Default)]
pub struct Application {
    pub name: String,
    pub version: String,
    pub description: String,
    pub authors: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariableDecl {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteConfig {
    /// A routable pattern such as `/token` or `/scim/v2/...`.
    Route(String),
    /// `{ private = true }`: the component is not reachable over HTTP.
    Private,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTrigger {
    pub route: RouteConfig,
    pub component: String,
}

#[derive(Debug, Clone)]
pub struct ComponentDecl {
    pub id: String,
    /// Absolute (manifest-dir-resolved) path of the component's `.wasm`.
    pub source: PathBuf,
    /// `source` as written in the manifest.
    pub source_raw: String,
    pub description: String,
    pub allowed_outbound_hosts: Vec<String>,
    pub sqlite_databases: Vec<String>,
    pub key_value_stores: Vec<String>,
    /// Component variable name -> template (`"{{ issuer }}/x"`).
    pub variables: BTreeMap<String, Template>,
    pub environment: BTreeMap<String, String>,
    pub dependencies: Vec<Dependency>,
    pub dependencies_inherit_configuration: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    pub name: DependencyName,
    /// Absolute path of the dependency's `.wasm`.
    pub path: PathBuf,
    /// The manifest key, for messages.
    pub key: String,
}

/// The key of a `[component.X.dependencies]` entry, parsed like Spin's
/// `DependencyName`: `ns:pkg[/interface][@version]` or a plain kebab name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyName {
    Package {
        /// `ns:pkg`
        package: String,
        interface: Option<String>,
        version: Option<String>,
    },
    Plain(String),
}

impl DependencyName {
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        if s.contains(':') {
            let (rest, version) = match s.split_once('@') {
                Some((r, v)) => {
                    if !is_semver(v) {
                        return Err(format!("invalid version {v:?}"));
                    }
                    (r, Some(v.to_string()))
                }
                None => (s, None),
            };
            let (package, interface) = match rest.split_once('/') {
                Some((p, i)) => (p, Some(i.to_string())),
                None => (rest, None),
            };
            let Some((ns, name)) = package.split_once(':') else {
                return Err("expected `namespace:package`".into());
            };
            for part in [ns, name].into_iter().chain(interface.as_deref()) {
                kebab_id(part)?;
            }
            Ok(DependencyName::Package {
                package: package.to_string(),
                interface,
                version,
            })
        } else {
            kebab_id(s)?;
            Ok(DependencyName::Plain(s.to_string()))
        }
    }

    /// Whether this dependency satisfies the import `import_name`, with the
    /// matching rules of Spin's composer (`spin-compose`, `matches_import`).
    pub fn matches_import(&self, import_name: &str) -> bool {
        match self {
            DependencyName::Plain(p) => p == import_name,
            DependencyName::Package {
                package,
                interface,
                version,
            } => {
                let Some((import_package, rest)) = import_name.split_once('/') else {
                    return false;
                };
                if !import_package.contains(':') || import_package != package {
                    return false;
                }
                let (import_interface, import_version) = match rest.split_once('@') {
                    Some((i, v)) => (i, Some(v)),
                    None => (rest, None),
                };
                if let Some(i) = interface
                    && i != import_interface
                {
                    return false;
                }
                if let Some(v) = version
                    && import_version != Some(v.as_str())
                {
                    return false;
                }
                true
            }
        }
    }
}

fn is_semver(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// Spin's `KebabId`: `-`-separated words of ASCII alphanumerics, each
/// starting with a letter, each all-lowercase or all-uppercase.
pub fn kebab_id(id: &str) -> std::result::Result<(), String> {
    spin_id(id, '-', false)
}

/// Spin's `LowerSnakeId` (variable names).
pub fn lower_snake_id(id: &str) -> std::result::Result<(), String> {
    spin_id(id, '_', true)
}

fn spin_id(id: &str, delim: char, lower: bool) -> std::result::Result<(), String> {
    if id.is_empty() {
        return Err("empty".into());
    }
    let wrong = if delim == '_' { '-' } else { '_' };
    if id.contains(wrong) {
        return Err(format!(
            "words must be separated with {delim:?}, not {wrong:?}"
        ));
    }
    for word in id.split(delim) {
        let mut chars = word.chars();
        let Some(first) = chars.next() else {
            return Err(format!("{delim:?}-separated words must not be empty"));
        };
        if !first.is_ascii_alphabetic() {
            return Err(format!(
                "{delim:?}-separated words must start with an ASCII letter; got {first:?}"
            ));
        }
        let upper = first.is_ascii_uppercase();
        for ch in chars {
            if ch.is_ascii_digit() {
                continue;
            }
            if !ch.is_ascii_alphanumeric() {
                return Err(format!(
                    "{delim:?}-separated words may only contain alphanumeric ASCII; got {ch:?}"
                ));
            }
            if ch.is_ascii_uppercase() != upper {
                return Err(format!(
                    "{delim:?}-separated words must be all lowercase or all UPPERCASE; got {word:?}"
                ));
            }
        }
        if lower && upper {
            return Err(format!("identifiers must be all lowercase; got {id:?}"));
        }
    }
    Ok(())
}

/// Formats a key for an error path, quoting it when it is not a bare key.
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

/// Errors about one file (`spin.toml` or `runtime-config.toml`).
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
}

impl Ctx<'_> {
    pub fn unsupported(&self, path: &str) -> wasmtime::Error {
        format_err!(
            "{}: {path} is not supported by the authrim runner",
            self.file
        )
    }
    pub fn invalid(&self, path: &str, msg: impl std::fmt::Display) -> wasmtime::Error {
        format_err!("{}: {path}: {msg}", self.file)
    }
    pub fn missing(&self, path: &str) -> wasmtime::Error {
        format_err!("{}: {path} is required", self.file)
    }
    pub fn table<'v>(&self, path: &str, v: &'v Value) -> Result<&'v Table> {
        v.as_table()
            .ok_or_else(|| self.invalid(path, format!("expected a table, found {}", v.type_str())))
    }
    pub fn string<'v>(&self, path: &str, v: &'v Value) -> Result<&'v str> {
        v.as_str()
            .ok_or_else(|| self.invalid(path, format!("expected a string, found {}", v.type_str())))
    }
    pub fn bool(&self, path: &str, v: &Value) -> Result<bool> {
        v.as_bool().ok_or_else(|| {
            self.invalid(path, format!("expected a boolean, found {}", v.type_str()))
        })
    }
    pub fn strings(&self, path: &str, v: &Value) -> Result<Vec<String>> {
        let arr = v.as_array().ok_or_else(|| {
            self.invalid(path, format!("expected an array, found {}", v.type_str()))
        })?;
        arr.iter()
            .enumerate()
            .map(|(i, item)| {
                self.string(&format!("{path}[{i}]"), item)
                    .map(str::to_string)
            })
            .collect()
    }
    pub fn string_map(&self, path: &str, v: &Value) -> Result<BTreeMap<String, String>> {
        let t = self.table(path, v)?;
        t.iter()
            .map(|(k, v)| {
                let p = key_path(path, k);
                Ok((k.clone(), self.string(&p, v)?.to_string()))
            })
            .collect()
    }
}

impl Manifest {
    /// Reads and validates the manifest at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format_err!("cannot read manifest {}: {e}", path.display()))?;
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "spin.toml".into());
        Self::parse(&text, &file, path, &dir)
    }

    /// Parses manifest text. `file` names the file in errors; `dir` is the
    /// directory relative paths resolve against.
    pub fn parse(text: &str, file: &str, path: &Path, dir: &Path) -> Result<Self> {
        let ctx = Ctx { file };
        let doc: Table = text
            .parse()
            .map_err(|e| format_err!("{file}: invalid TOML: {e}"))?;

        match doc.get("spin_manifest_version") {
            None => {
                if doc.contains_key("spin_version") {
                    return Err(ctx.unsupported("spin_version (manifest version 1)"));
                }
                return Err(ctx.missing("spin_manifest_version"));
            }
            Some(Value::Integer(2)) => {}
            Some(other) => {
                return Err(ctx.invalid(
                    "spin_manifest_version",
                    format!("only manifest version 2 is supported, found {other}"),
                ));
            }
        }

        let mut application = None;
        let mut variables = BTreeMap::new();
        let mut triggers = Vec::new();
        let mut components = BTreeMap::new();
        for (key, value) in &doc {
            match key.as_str() {
                "spin_manifest_version" => {}
                "application" => application = Some(parse_application(&ctx, value)?),
                "variables" => variables = parse_variables(&ctx, value)?,
                "trigger" => triggers = parse_triggers(&ctx, value)?,
                "component" => components = parse_components(&ctx, value, dir)?,
                other => return Err(ctx.unsupported(&key_path("", other))),
            }
        }
        let application = application.ok_or_else(|| ctx.missing("application"))?;

        let manifest = Manifest {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            application,
            variables,
            triggers,
            components,
        };
        manifest.validate(&ctx)?;
        Ok(manifest)
    }

    fn validate(&self, ctx: &Ctx) -> Result<()> {
        for (i, t) in self.triggers.iter().enumerate() {
            if !self.components.contains_key(&t.component) {
                return Err(ctx.invalid(
                    &format!("trigger.http[{i}].component"),
                    format!("no component with id {:?}", t.component),
                ));
            }
        }
        for (id, c) in &self.components {
            let base = key_path("component", id);
            for (name, tmpl) in &c.variables {
                for var in tmpl.referenced() {
                    if !self.variables.contains_key(var) {
                        return Err(ctx.invalid(
                            &key_path(&key_path(&base, "variables"), name),
                            format!("unknown application variable {var:?}"),
                        ));
                    }
                }
            }
            for (i, host) in c.allowed_outbound_hosts.iter().enumerate() {
                let tmpl = Template::parse(host)
                    .map_err(|e| ctx.invalid(&format!("{base}.allowed_outbound_hosts[{i}]"), e))?;
                for var in tmpl.referenced() {
                    if !self.variables.contains_key(var) {
                        return Err(ctx.invalid(
                            &format!("{base}.allowed_outbound_hosts[{i}]"),
                            format!("unknown application variable {var:?}"),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The path of the `.wasm` that satisfies imports of package `package`
    /// (e.g. `authrim:store`) in any component, if one is declared.
    pub fn dependency_path_for_package(&self, package: &str) -> Option<PathBuf> {
        self.components.values().find_map(|c| {
            c.dependencies.iter().find_map(|d| match &d.name {
                DependencyName::Package { package: p, .. } if p == package => Some(d.path.clone()),
                _ => None,
            })
        })
    }
}

fn parse_application(ctx: &Ctx, v: &Value) -> Result<Application> {
    let t = ctx.table("application", v)?;
    let mut app = Application::default();
    let mut name = None;
    for (key, value) in t {
        let path = key_path("application", key);
        match key.as_str() {
            "name" => name = Some(ctx.string(&path, value)?.to_string()),
            "version" => app.version = ctx.string(&path, value)?.to_string(),
            "description" => app.description = ctx.string(&path, value)?.to_string(),
            "authors" => app.authors = ctx.strings(&path, value)?,
            "trigger" => {
                let tt = ctx.table(&path, value)?;
                for (tkey, tval) in tt {
                    let tpath = key_path(&path, tkey);
                    if tkey != "http" {
                        return Err(ctx.unsupported(&tpath));
                    }
                    for (hkey, hval) in ctx.table(&tpath, tval)? {
                        let hpath = key_path(&tpath, hkey);
                        if hkey != "base" {
                            return Err(ctx.unsupported(&hpath));
                        }
                        let base = ctx.string(&hpath, hval)?;
                        if base != "/" {
                            return Err(ctx.invalid(
                                &hpath,
                                "only base = \"/\" is supported by the authrim runner",
                            ));
                        }
                    }
                }
            }
            _ => return Err(ctx.unsupported(&path)),
        }
    }
    app.name = name.ok_or_else(|| ctx.missing("application.name"))?;
    Ok(app)
}

fn parse_variables(ctx: &Ctx, v: &Value) -> Result<BTreeMap<String, VariableDecl>> {
    let t = ctx.table("variables", v)?;
    let mut out = BTreeMap::new();
    for (name, value) in t {
        let path = key_path("variables", name);
        validate_variable_name(name).map_err(|e| ctx.invalid(&path, e))?;
        let vt = ctx.table(&path, value)?;
        let mut decl = VariableDecl::default();
        for (key, value) in vt {
            let kpath = key_path(&path, key);
            match key.as_str() {
                "default" => decl.default = Some(ctx.string(&kpath, value)?.to_string()),
                "required" => decl.required = ctx.bool(&kpath, value)?,
                "secret" => decl.secret = ctx.bool(&kpath, value)?,
                "description" => decl.description = Some(ctx.string(&kpath, value)?.to_string()),
                _ => return Err(ctx.unsupported(&kpath)),
            }
        }
        // Spin: "must be `required` OR have a `default`".
        if decl.required == decl.default.is_some() {
            return Err(ctx.invalid(&path, "must be `required` OR have a `default`"));
        }
        out.insert(name.clone(), decl);
    }
    Ok(out)
}

fn parse_triggers(ctx: &Ctx, v: &Value) -> Result<Vec<HttpTrigger>> {
    let t = ctx.table("trigger", v)?;
    let mut out = Vec::new();
    for (ttype, list) in t {
        let tpath = key_path("trigger", ttype);
        if ttype != "http" {
            return Err(ctx.unsupported(&tpath));
        }
        let arr = list
            .as_array()
            .ok_or_else(|| ctx.invalid(&tpath, "expected an array of tables ([[trigger.http]])"))?;
        for (i, item) in arr.iter().enumerate() {
            let ipath = format!("{tpath}[{i}]");
            let it = ctx.table(&ipath, item)?;
            let mut route = None;
            let mut component = None;
            for (key, value) in it {
                let kpath = key_path(&ipath, key);
                match key.as_str() {
                    "route" => route = Some(parse_route(ctx, &kpath, value)?),
                    "component" => match value {
                        Value::String(id) => {
                            kebab_id(id).map_err(|e| ctx.invalid(&kpath, e))?;
                            component = Some(id.clone());
                        }
                        Value::Table(_) => {
                            return Err(ctx.unsupported(&format!("{kpath} (inline component)")));
                        }
                        other => {
                            return Err(ctx.invalid(
                                &kpath,
                                format!("expected a component id, found {}", other.type_str()),
                            ));
                        }
                    },
                    _ => return Err(ctx.unsupported(&kpath)),
                }
            }
            out.push(HttpTrigger {
                route: route.ok_or_else(|| ctx.missing(&format!("{ipath}.route")))?,
                component: component.ok_or_else(|| ctx.missing(&format!("{ipath}.component")))?,
            });
        }
    }
    Ok(out)
}

fn parse_route(ctx: &Ctx, path: &str, v: &Value) -> Result<RouteConfig> {
    match v {
        Value::String(route) => {
            if route.split('/').any(|seg| seg.starts_with(':')) {
                return Err(
                    ctx.unsupported(&format!("{path} = {route:?} (`:name` route parameters)"))
                );
            }
            let abs = if route.starts_with('/') {
                route.clone()
            } else {
                format!("/{route}")
            };
            let prefix = abs
                .strip_suffix("/...")
                .or_else(|| abs.strip_suffix("/*"))
                .unwrap_or(&abs);
            if prefix.contains("...") || prefix.contains('*') {
                return Err(ctx.invalid(
                    path,
                    "a wildcard (`/...`) is only allowed as the last segment",
                ));
            }
            Ok(RouteConfig::Route(route.clone()))
        }
        Value::Table(t) => {
            let mut private = None;
            for (key, value) in t {
                let kpath = key_path(path, key);
                if key != "private" {
                    return Err(ctx.unsupported(&kpath));
                }
                private = Some(ctx.bool(&kpath, value)?);
            }
            match private {
                Some(true) => Ok(RouteConfig::Private),
                _ => Err(ctx.invalid(
                    path,
                    "route must be a string pattern or `{ private = true }`",
                )),
            }
        }
        other => Err(ctx.invalid(
            path,
            format!("expected a route string, found {}", other.type_str()),
        )),
    }
}

fn parse_components(ctx: &Ctx, v: &Value, dir: &Path) -> Result<BTreeMap<String, ComponentDecl>> {
    let t = ctx.table("component", v)?;
    let mut out = BTreeMap::new();
    for (id, value) in t {
        let path = key_path("component", id);
        kebab_id(id).map_err(|e| ctx.invalid(&path, format!("invalid component id: {e}")))?;
        out.insert(id.clone(), parse_component(ctx, &path, id, value, dir)?);
    }
    Ok(out)
}

fn parse_component(
    ctx: &Ctx,
    path: &str,
    id: &str,
    v: &Value,
    dir: &Path,
) -> Result<ComponentDecl> {
    let t = ctx.table(path, v)?;
    let mut source = None;
    let mut c = ComponentDecl {
        id: id.to_string(),
        source: PathBuf::new(),
        source_raw: String::new(),
        description: String::new(),
        allowed_outbound_hosts: Vec::new(),
        sqlite_databases: Vec::new(),
        key_value_stores: Vec::new(),
        variables: BTreeMap::new(),
        environment: BTreeMap::new(),
        dependencies: Vec::new(),
        dependencies_inherit_configuration: false,
    };
    let mut deps = None;
    for (key, value) in t {
        let kpath = key_path(path, key);
        match key.as_str() {
            "source" => match value {
                Value::String(s) => {
                    if s.contains("://") {
                        return Err(ctx.unsupported(&format!("{kpath} = {s:?} (remote source)")));
                    }
                    source = Some(s.clone());
                }
                Value::Table(st) => {
                    let form = if st.contains_key("url") {
                        "url"
                    } else if st.contains_key("package") || st.contains_key("registry") {
                        "package"
                    } else {
                        st.keys().next().map(String::as_str).unwrap_or("")
                    };
                    return Err(ctx.unsupported(&key_path(&kpath, form)));
                }
                other => {
                    return Err(ctx.invalid(
                        &kpath,
                        format!("expected a path string, found {}", other.type_str()),
                    ));
                }
            },
            "description" => c.description = ctx.string(&kpath, value)?.to_string(),
            "allowed_outbound_hosts" => c.allowed_outbound_hosts = ctx.strings(&kpath, value)?,
            "sqlite_databases" => {
                c.sqlite_databases = ctx.strings(&kpath, value)?;
                check_labels(ctx, &kpath, &c.sqlite_databases)?;
            }
            "key_value_stores" => {
                c.key_value_stores = ctx.strings(&kpath, value)?;
                check_labels(ctx, &kpath, &c.key_value_stores)?;
            }
            "variables" => {
                for (name, tmpl) in ctx.string_map(&kpath, value)? {
                    let vpath = key_path(&kpath, &name);
                    validate_variable_name(&name).map_err(|e| ctx.invalid(&vpath, e))?;
                    let tmpl = Template::parse(&tmpl).map_err(|e| ctx.invalid(&vpath, e))?;
                    c.variables.insert(name, tmpl);
                }
            }
            "environment" => c.environment = ctx.string_map(&kpath, value)?,
            "dependencies_inherit_configuration" => {
                c.dependencies_inherit_configuration = ctx.bool(&kpath, value)?
            }
            "dependencies" => deps = Some((kpath, value)),
            "build" => check_build(ctx, &kpath, value)?,
            _ => return Err(ctx.unsupported(&kpath)),
        }
    }
    let source = source.ok_or_else(|| ctx.missing(&format!("{path}.source")))?;
    c.source = dir.join(&source);
    c.source_raw = source;
    if let Some((kpath, value)) = deps {
        c.dependencies = parse_dependencies(ctx, &kpath, value, dir)?;
    }
    Ok(c)
}

fn check_labels(ctx: &Ctx, path: &str, labels: &[String]) -> Result<()> {
    for (i, l) in labels.iter().enumerate() {
        if kebab_id(l).is_err() && spin_id(l, '_', false).is_err() {
            return Err(ctx.invalid(
                &format!("{path}[{i}]"),
                format!("label {l:?} must be kebab-case or snake_case"),
            ));
        }
    }
    Ok(())
}

/// `[component.X.build]` is for `spin build`; the server accepts and ignores it.
fn check_build(ctx: &Ctx, path: &str, v: &Value) -> Result<()> {
    let t = ctx.table(path, v)?;
    for (key, value) in t {
        let kpath = key_path(path, key);
        match key.as_str() {
            "command" => {
                if value.is_str() {
                    continue;
                }
                ctx.strings(&kpath, value)?;
            }
            "workdir" => {
                ctx.string(&kpath, value)?;
            }
            "watch" => {
                ctx.strings(&kpath, value)?;
            }
            _ => return Err(ctx.unsupported(&kpath)),
        }
    }
    Ok(())
}

fn parse_dependencies(ctx: &Ctx, path: &str, v: &Value, dir: &Path) -> Result<Vec<Dependency>> {
    let t = ctx.table(path, v)?;
    let mut out: Vec<Dependency> = Vec::new();
    for (key, value) in t {
        let kpath = key_path(path, key);
        let name = DependencyName::parse(key)
            .map_err(|e| ctx.invalid(&kpath, format!("invalid dependency name: {e}")))?;
        let dt = match value {
            Value::Table(dt) => dt,
            Value::String(_) => {
                return Err(ctx.unsupported(&format!("{kpath} (registry version dependency)")));
            }
            other => {
                return Err(ctx.invalid(
                    &kpath,
                    format!("expected a table, found {}", other.type_str()),
                ));
            }
        };
        let mut dep_path = None;
        for (dkey, dval) in dt {
            let dpath = key_path(&kpath, dkey);
            match dkey.as_str() {
                "path" => dep_path = Some(ctx.string(&dpath, dval)?.to_string()),
                _ => return Err(ctx.unsupported(&dpath)),
            }
        }
        let dep_path = dep_path.ok_or_else(|| ctx.missing(&format!("{kpath}.path")))?;
        // Spin refuses names that could satisfy the same import twice.
        for other in &out {
            if let (
                DependencyName::Package {
                    package: a,
                    interface: ai,
                    version: av,
                },
                DependencyName::Package {
                    package: b,
                    interface: bi,
                    version: bv,
                },
            ) = (&other.name, &name)
                && a == b
                && (ai.is_none() || bi.is_none() || ai == bi)
                && (av.is_none() || bv.is_none() || av == bv)
            {
                bail!(
                    "{}: {kpath} conflicts with dependency {:?}",
                    ctx.file,
                    other.key
                );
            }
        }
        out.push(Dependency {
            name,
            path: dir.join(dep_path),
            key: key.clone(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest> {
        Manifest::parse(
            text,
            "spin.toml",
            Path::new("/app/spin.toml"),
            Path::new("/app"),
        )
    }

    const BASE: &str = r#"
spin_manifest_version = 2

[application]
name = "app"
version = "0.1.0"
description = "d"
authors = ["a <a@example.com>"]

[application.trigger.http]
base = "/"

[variables]
issuer = { default = "http://localhost:3000" }
master_key = { required = true, secret = true }

[[trigger.http]]
route = "/token"
component = "op-token"

[[trigger.http]]
route = { private = true }
component = "op-store-only"

[component.op-token]
source = "target/wasm32-wasip2/release/op_token.wasm"
description = "token endpoint"
allowed_outbound_hosts = ["https://*.example.com"]
sqlite_databases = ["default"]
key_value_stores = ["default"]
environment = { RUST_LOG = "info" }
dependencies_inherit_configuration = true

[component.op-token.variables]
issuer = "{{ issuer }}"
jwks_url = "{{ issuer }}/.well-known/jwks.json"

[component.op-token.dependencies]
"authrim:store/keys@0.1.0" = { path = "target/wasm32-wasip2/release/op_store.wasm" }

[component.op-token.build]
command = "cargo build --target wasm32-wasip2 --release -p op-token"
workdir = "."
watch = ["src/**/*.rs"]

[component.op-store-only]
source = "x.wasm"
"#;

    #[test]
    fn parses_supported_manifest() {
        let m = parse(BASE).unwrap();
        assert_eq!(m.application.name, "app");
        assert_eq!(m.application.authors.len(), 1);
        assert_eq!(m.variables.len(), 2);
        assert!(m.variables["master_key"].secret);
        assert!(m.variables["master_key"].required);
        assert_eq!(
            m.variables["issuer"].default.as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            m.triggers,
            vec![
                HttpTrigger {
                    route: RouteConfig::Route("/token".into()),
                    component: "op-token".into()
                },
                HttpTrigger {
                    route: RouteConfig::Private,
                    component: "op-store-only".into()
                },
            ]
        );
        let c = &m.components["op-token"];
        assert_eq!(
            c.source,
            Path::new("/app/target/wasm32-wasip2/release/op_token.wasm")
        );
        assert_eq!(c.sqlite_databases, vec!["default"]);
        assert_eq!(c.key_value_stores, vec!["default"]);
        assert_eq!(c.allowed_outbound_hosts, vec!["https://*.example.com"]);
        assert_eq!(c.environment["RUST_LOG"], "info");
        assert!(c.dependencies_inherit_configuration);
        assert_eq!(c.variables.len(), 2);
        assert_eq!(c.dependencies.len(), 1);
        assert_eq!(
            c.dependencies[0].name,
            DependencyName::Package {
                package: "authrim:store".into(),
                interface: Some("keys".into()),
                version: Some("0.1.0".into())
            }
        );
        assert_eq!(
            m.dependency_path_for_package("authrim:store").unwrap(),
            Path::new("/app/target/wasm32-wasip2/release/op_store.wasm")
        );
    }

    /// Each entry: a change to the base manifest, and the error it must give.
    #[test]
    fn refuses_unsupported_keys() {
        let cases: &[(&str, &str, &str)] = &[
            // (text to find in BASE, replacement, expected error substring)
            (
                "[component.op-store-only]\nsource = \"x.wasm\"",
                "[component.op-store-only]\nsource = \"x.wasm\"\nfiles = [\"static/**\"]",
                "spin.toml: component.op-store-only.files is not supported by the authrim runner",
            ),
            (
                "source = \"x.wasm\"",
                "source = { url = \"https://example.com/x.wasm\", digest = \"sha256:00\" }",
                "spin.toml: component.op-store-only.source.url is not supported",
            ),
            (
                "source = \"x.wasm\"",
                "source = { registry = \"ghcr.io\", package = \"a:b\", version = \"1.0.0\" }",
                "spin.toml: component.op-store-only.source.package is not supported",
            ),
            (
                "source = \"x.wasm\"",
                "source = \"https://example.com/x.wasm\"",
                "component.op-store-only.source = \"https://example.com/x.wasm\" (remote source) is not supported",
            ),
            (
                "route = \"/token\"",
                "route = \"/users/:id\"",
                "spin.toml: trigger.http[0].route = \"/users/:id\" (`:name` route parameters) is not supported",
            ),
            (
                "route = \"/token\"",
                "route = \"/token\"\nexecutor = { type = \"wagi\" }",
                "spin.toml: trigger.http[0].executor is not supported",
            ),
            (
                "route = \"/token\"\ncomponent = \"op-token\"",
                "route = \"/token\"\ncomponent = { source = \"y.wasm\" }",
                "spin.toml: trigger.http[0].component (inline component) is not supported",
            ),
            (
                "route = \"/token\"",
                "route = \"/token\"\nstatic_response = { status_code = 200 }",
                "spin.toml: trigger.http[0].static_response is not supported",
            ),
            (
                "[application.trigger.http]\nbase = \"/\"",
                "[application.trigger.http]\nbase = \"/base\"",
                "spin.toml: application.trigger.http.base: only base = \"/\" is supported",
            ),
            (
                "[application.trigger.http]\nbase = \"/\"",
                "[application.trigger.redis]\naddress = \"redis://x\"",
                "spin.toml: application.trigger.redis is not supported",
            ),
            (
                "description = \"d\"",
                "description = \"d\"\ntargets = [\"spin-up:3.3\"]",
                "spin.toml: application.targets is not supported",
            ),
            (
                "issuer = { default = \"http://localhost:3000\" }",
                "issuer = { default = \"http://localhost:3000\", sensitive = true }",
                "spin.toml: variables.issuer.sensitive is not supported",
            ),
            (
                "issuer = { default = \"http://localhost:3000\" }",
                "issuer = { default = \"x\", required = true }",
                "spin.toml: variables.issuer: must be `required` OR have a `default`",
            ),
            (
                "[[trigger.http]]\nroute = \"/token\"",
                "[[trigger.redis]]\nchannel = \"x\"\n[[trigger.http]]\nroute = \"/token\"",
                "spin.toml: trigger.redis is not supported",
            ),
            (
                "\"authrim:store/keys@0.1.0\" = { path = \"target/wasm32-wasip2/release/op_store.wasm\" }",
                "\"authrim:store/keys@0.1.0\" = { version = \"0.1.0\", package = \"authrim:store\" }",
                "spin.toml: component.op-token.dependencies.\"authrim:store/keys@0.1.0\".package is not supported",
            ),
            (
                "\"authrim:store/keys@0.1.0\" = { path = \"target/wasm32-wasip2/release/op_store.wasm\" }",
                "\"authrim:store/keys@0.1.0\" = \"0.1.0\"",
                "spin.toml: component.op-token.dependencies.\"authrim:store/keys@0.1.0\" (registry version dependency) is not supported",
            ),
            (
                "\"authrim:store/keys@0.1.0\" = { path = \"target/wasm32-wasip2/release/op_store.wasm\" }",
                "\"authrim:store/keys@0.1.0\" = { path = \"a.wasm\", export = \"x\" }",
                "spin.toml: component.op-token.dependencies.\"authrim:store/keys@0.1.0\".export is not supported",
            ),
            (
                "environment = { RUST_LOG = \"info\" }",
                "environment = { RUST_LOG = \"info\" }\nai_models = [\"llama2-chat\"]",
                "spin.toml: component.op-token.ai_models is not supported",
            ),
            (
                "environment = { RUST_LOG = \"info\" }",
                "environment = { RUST_LOG = \"info\" }\nallowed_http_hosts = [\"example.com\"]",
                "spin.toml: component.op-token.allowed_http_hosts is not supported",
            ),
            (
                "watch = [\"src/**/*.rs\"]",
                "watch = [\"src/**/*.rs\"]\nenvironment = { A = \"b\" }",
                "spin.toml: component.op-token.build.environment is not supported",
            ),
            (
                "[variables]",
                "[unknown_section]\nx = 1\n[variables]",
                "spin.toml: unknown_section is not supported",
            ),
            (
                "jwks_url = \"{{ issuer }}/.well-known/jwks.json\"",
                "jwks_url = \"{{ nope }}\"",
                "spin.toml: component.op-token.variables.jwks_url: unknown application variable \"nope\"",
            ),
            (
                "component = \"op-token\"",
                "component = \"op-missing\"",
                "spin.toml: trigger.http[0].component: no component with id \"op-missing\"",
            ),
            (
                "spin_manifest_version = 2",
                "spin_manifest_version = 1",
                "spin.toml: spin_manifest_version: only manifest version 2 is supported",
            ),
            (
                "spin_manifest_version = 2",
                "spin_version = \"1\"",
                "spin.toml: spin_version (manifest version 1) is not supported",
            ),
            (
                "route = { private = true }",
                "route = { private = false }",
                "spin.toml: trigger.http[1].route: route must be a string pattern",
            ),
            (
                "sqlite_databases = [\"default\"]",
                "sqlite_databases = [\"Bad Label\"]",
                "spin.toml: component.op-token.sqlite_databases[0]: label \"Bad Label\"",
            ),
            (
                "[component.op-store-only]",
                "[component.op_store_only]",
                "spin.toml: component.op_store_only: invalid component id",
            ),
        ];
        for (find, replace, expected) in cases {
            assert!(BASE.contains(find), "test case does not apply: {find}");
            let text = BASE.replacen(find, replace, 1);
            let err = match parse(&text) {
                Ok(_) => panic!("manifest with {replace:?} was accepted"),
                Err(e) => format!("{e:#}"),
            };
            assert!(
                err.contains(expected),
                "for {replace:?}\n  expected: {expected}\n  got:      {err}"
            );
        }
    }

    #[test]
    fn dependency_names_match_imports_like_spin() {
        let yes: &[(&str, &[&str])] = &[
            ("foo:bar/baz@0.1.0", &["foo:bar/baz@0.1.0"]),
            ("foo:bar/baz", &["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar", &["foo:bar/baz@0.1.0", "foo:bar/baz"]),
            ("foo:bar@0.1.0", &["foo:bar/baz@0.1.0"]),
            ("foo-bar", &["foo-bar"]),
        ];
        for (dep, imports) in yes {
            let d = DependencyName::parse(dep).unwrap();
            for i in *imports {
                assert!(d.matches_import(i), "{dep} should match {i}");
            }
        }
        let no: &[(&str, &[&str])] = &[
            ("foo:bar/baz@0.1.0", &["foo:bar/baz"]),
            ("foo:bar/baz", &["foo:bar/bub", "foo:bar/bub@0.1.0"]),
            ("foo:bar", &["foo:bub/bib"]),
            ("foo:bar@0.1.0", &["foo:bar/baz"]),
            ("foo:bar/baz", &["foo:bar/baz-bub", "foo-bar"]),
        ];
        for (dep, imports) in no {
            let d = DependencyName::parse(dep).unwrap();
            for i in *imports {
                assert!(!d.matches_import(i), "{dep} should not match {i}");
            }
        }
        assert!(DependencyName::parse("foo:bar").is_ok());
        assert!(DependencyName::parse("foo:bar@1").is_err());
        assert!(DependencyName::parse("foo_bar").is_err());
    }

    #[test]
    fn conflicting_dependencies_are_refused() {
        let text = BASE.replacen(
            "\"authrim:store/keys@0.1.0\" = { path = \"target/wasm32-wasip2/release/op_store.wasm\" }",
            "\"authrim:store/keys@0.1.0\" = { path = \"a.wasm\" }\n\"authrim:store\" = { path = \"b.wasm\" }",
            1,
        );
        let err = format!("{:#}", parse(&text).unwrap_err());
        assert!(err.contains("conflicts with dependency"), "{err}");
    }

    /// The project's own manifest must always be accepted by the runner.
    #[test]
    fn the_projects_spin_toml_is_accepted() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml");
        if !path.exists() {
            eprintln!("no spin.toml at the repository root yet; skipping");
            return;
        }
        let m = Manifest::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(!m.components.is_empty());
        for t in &m.triggers {
            assert!(m.components.contains_key(&t.component));
        }
    }

    #[test]
    fn the_fixture_spin_toml_is_accepted() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/spin.toml");
        let m = Manifest::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(m.components.contains_key("granted"));
        assert!(m.components.contains_key("denied"));
    }
}
