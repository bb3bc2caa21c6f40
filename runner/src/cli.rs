//! The `authrim` command line.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use wasmtime::{Result, format_err};

use crate::accounts;
use crate::admin::{StoreClient, format_keys};
use crate::app::{App, AppOptions};
use crate::engine::EngineOptions;
use crate::server::{ServeOptions, print_routes, serve};
use crate::variables::env_var_name;

#[derive(Parser, Debug)]
#[command(
    name = "authrim",
    version,
    about = "Runs the Authrim Spin app: a Spin-compatible host built on wasmtime"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Apply migrations, then serve the app over HTTP.
    Up(UpArgs),
    /// Apply pending migrations to the `default` SQLite database, then exit.
    Migrate(MigrateArgs),
    /// Administrative operations, performed through the op-store component.
    Admin(AdminArgs),
}

#[derive(Args, Debug, Clone)]
pub struct AppArgs {
    /// The Spin manifest.
    #[arg(long, short = 'f', default_value = "spin.toml", global = true)]
    pub manifest: PathBuf,
    /// The runtime config file (as `spin up --runtime-config-file`). Without
    /// it, label `default` lives under `.spin/` next to the manifest.
    #[arg(long, global = true)]
    pub runtime_config_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct UpArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Migrations directory [default: `migrations` next to the manifest].
    #[arg(long)]
    pub migrations: Option<PathBuf>,
    /// Compiled-component cache [default: `.authrim/cache` next to the manifest].
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
    /// Largest accepted request body; larger requests get 413.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Time limit of one request; a request over it fails with 503.
    #[arg(long, default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Concurrent component instances (size of the instance pool).
    #[arg(long, default_value_t = 256)]
    pub max_instances: u32,
    /// Development mode: generate (once) and use a local master key when
    /// SPIN_VARIABLE_MASTER_KEY is not set, and create signing keys before
    /// serving. Never use in production.
    #[arg(long)]
    pub dev: bool,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// Migrations directory [default: `migrations` next to the manifest].
    #[arg(long)]
    pub migrations: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// Compiled-component cache [default: `.authrim/cache` next to the manifest].
    #[arg(long, global = true)]
    pub cache_dir: Option<PathBuf>,
    /// Use the development master key (see `authrim up --dev`).
    #[arg(long, global = true)]
    pub dev: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// End users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// OAuth clients.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Trusted issuers of JWT bearer assertions (RFC 7523).
    Issuer {
        #[command(subcommand)]
        command: IssuerCommand,
    },
}

/// How an assertion's `sub` is mapped.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mapping {
    /// `sub` is a user id or username of an enabled user.
    User,
    /// `sub` is a service identity; tokens have no user.
    Service,
}

#[derive(Subcommand, Debug)]
pub enum IssuerCommand {
    /// Trust an issuer of JWT bearer assertions (or replace its settings).
    Add {
        /// The assertions' `iss`, compared exactly.
        #[arg(long)]
        issuer: String,
        /// A file with the issuer's JWK Set (JSON).
        #[arg(
            long,
            required_unless_present = "jwks_uri",
            conflicts_with = "jwks_uri"
        )]
        jwks: Option<PathBuf>,
        /// An https URL of the issuer's JWK Set (fetched like client keys).
        #[arg(long)]
        jwks_uri: Option<String>,
        /// A subject it may assert (repeatable); `*` for any.
        #[arg(long = "subject", required = true)]
        subjects: Vec<String>,
        /// The scopes its tokens may carry, space-delimited (also the
        /// default when a request names none).
        #[arg(long, default_value = "")]
        scope: String,
        /// What `sub` names.
        #[arg(long, value_enum)]
        mapping: Mapping,
    },
    /// List trusted issuers.
    List,
    /// Stop trusting an issuer.
    Remove { issuer: String },
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password is hashed with argon2id (OWASP
    /// parameters); prefer --password-stdin, since --password is visible in
    /// the process list.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Standard claims (OIDC Core 5.1) as a JSON object, e.g.
        /// '{"email":"a@example.com","email_verified":true,"name":"A"}'.
        #[arg(long)]
        claims: Option<String>,
        /// The user id (`sub`) [default: a random 256-bit value].
        #[arg(long)]
        id: Option<String>,
    },
    /// List users (id, username).
    List,
    /// Delete a user: ends their sessions and revokes their grants.
    Delete { id: String },
    /// Set the user's CIBA user code: the secret (6 to 64 characters, e.g.
    /// a PIN) that clients registered with backchannel_user_code_parameter
    /// must send to reach the user. Hashed with argon2id; prefer
    /// --user-code-stdin, since --user-code is visible in the process list.
    SetUserCode {
        #[arg(long)]
        username: String,
        #[arg(long, conflicts_with_all = ["user_code_stdin", "clear"])]
        user_code: Option<String>,
        /// Read the code from the first line of standard input.
        #[arg(long, conflicts_with = "clear")]
        user_code_stdin: bool,
        /// Remove the user's code instead (such clients can then not
        /// reach the user).
        #[arg(long)]
        clear: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Create a client from RFC 7591 metadata, validated as /register does.
    /// A client that authenticates with a secret gets --client-secret or a
    /// generated one, printed once.
    Add {
        /// A JSON file with RFC 7591 client metadata.
        #[arg(long)]
        metadata: PathBuf,
        #[arg(long)]
        client_id: Option<String>,
        /// At least 32 characters.
        #[arg(long)]
        client_secret: Option<String>,
    },
    /// List clients (client_id, metadata).
    List,
    /// Delete a client and everything issued to it.
    Delete { client_id: String },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Add a new signing key for an algorithm. It is published at once and
    /// starts signing after --publish-delay, so that JWKS caches see it
    /// before any token it signs.
    Rotate {
        #[arg(long, value_parser = ["RS256", "ES256"])]
        alg: String,
        /// Seconds between publishing the new key and signing with it.
        #[arg(long, default_value_t = 1200, conflicts_with = "immediate")]
        publish_delay: i64,
        /// Seconds older keys stay published after the new key activates.
        #[arg(long, default_value_t = 86400)]
        retention: i64,
        /// EMERGENCY ONLY (e.g. a leaked key): sign with the new key at
        /// once (publish delay 0). Relying parties that cached the JWKS will
        /// reject tokens until they refetch it.
        #[arg(long)]
        immediate: bool,
    },
    /// List every stored key, newest first.
    List,
    /// Create a key for every supported algorithm that has none.
    Ensure,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("authrim: error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("authrim: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up(args) => up(args).await,
        Command::Migrate(args) => migrate(args),
        Command::Admin(args) => admin(args).await,
    }
}

fn manifest_dir(manifest: &Path) -> PathBuf {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Looks variables up in the process environment, with overrides.
fn env_lookup(overrides: HashMap<String, String>) -> impl Fn(&str) -> Option<String> {
    move |k: &str| overrides.get(k).cloned().or_else(|| std::env::var(k).ok())
}

const DEV_KEY_FILE: &str = ".authrim/dev-master-key";

/// `--dev`: the master key from SPIN_VARIABLE_MASTER_KEY, or else a
/// generated one persisted (mode 0600) under `.authrim/` and reused.
fn dev_master_key(dir: &Path, manifest_declares_it: bool) -> Result<HashMap<String, String>> {
    let mut overrides = HashMap::new();
    let var = env_var_name("master_key");
    if !manifest_declares_it || std::env::var_os(&var).is_some() {
        return Ok(overrides);
    }
    let path = dir.join(DEV_KEY_FILE);
    let key = match std::fs::read_to_string(&path) {
        Ok(k) if !k.trim().is_empty() => k.trim().to_string(),
        _ => {
            use base64::Engine as _;
            use rand::RngCore as _;
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let key = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format_err!("cannot write {}: {e}", path.display()))?;
            f.write_all(key.as_bytes())?;
            key
        }
    };
    eprintln!(
        "\n\
         ************************************************************************\n\
         **  WARNING: DEVELOPMENT MASTER KEY                                   **\n\
         **                                                                    **\n\
         **  SPIN_VARIABLE_MASTER_KEY is not set, so --dev uses the key in     **\n\
         **  {:<66}**\n\
         **  It encrypts the signing keys at rest. It is NOT a secret: it is   **\n\
         **  a file on this disk. Never use --dev in production; set           **\n\
         **  SPIN_VARIABLE_MASTER_KEY from a secret store instead.             **\n\
         ************************************************************************\n",
        path.display().to_string()
    );
    overrides.insert(var, key);
    Ok(overrides)
}

fn app_options(app: &AppArgs, cache_dir: Option<PathBuf>, max_instances: u32) -> AppOptions {
    let dir = manifest_dir(&app.manifest);
    AppOptions {
        manifest: app.manifest.clone(),
        runtime_config: app.runtime_config_file.clone(),
        cache_dir: Some(cache_dir.unwrap_or_else(|| dir.join(".authrim/cache"))),
        engine: EngineOptions {
            max_instances,
            ..EngineOptions::default()
        },
    }
}

fn apply_migrations(app: &App, dir: Option<PathBuf>) -> Result<()> {
    let dir = dir.unwrap_or_else(|| app.manifest.dir.join("migrations"));
    let db = app.default_database();
    let applied = crate::migrations::migrate(db, &dir)?;
    for name in &applied {
        eprintln!("authrim: applied migration {name}");
    }
    if applied.is_empty() {
        eprintln!(
            "authrim: database {} is up to date ({})",
            db.display(),
            dir.display()
        );
    }
    Ok(())
}

fn declares_master_key(manifest: &Path) -> bool {
    crate::manifest::Manifest::load(manifest)
        .map(|m| m.variables.contains_key("master_key"))
        .unwrap_or(false)
}

async fn up(args: UpArgs) -> Result<()> {
    let dir = manifest_dir(&args.app.manifest);
    let overrides = if args.dev {
        dev_master_key(&dir, declares_master_key(&args.app.manifest))?
    } else {
        HashMap::new()
    };
    let opts = app_options(&args.app, args.cache_dir.clone(), args.max_instances);
    let env = env_lookup(overrides);
    let mut app = App::load(&opts, &env)?;
    apply_migrations(&app, args.migrations.clone())?;
    app.load_components()?;
    let app = Arc::new(app);

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format_err!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;

    if args.dev {
        if app
            .manifest
            .dependency_path_for_package(crate::admin::STORE_PACKAGE)
            .is_some()
        {
            let store = StoreClient::new(app.clone())?;
            let keys = store.ensure_keys().await?;
            eprintln!("authrim: --dev: {} signing key(s) ready", keys.len());
            let issuer =
                std::env::var(env_var_name("issuer")).unwrap_or_else(|_| format!("http://{addr}"));
            eprintln!("{}", accounts::ensure_demo(&store, &dir, &issuer).await?);
        } else {
            eprintln!(
                "authrim: --dev: no authrim:store dependency in the manifest; no keys created"
            );
        }
    }
    print_routes(&app, addr);
    let opts = ServeOptions {
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        ..ServeOptions::default()
    };
    serve(app, listener, opts, shutdown_signal()).await
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("authrim: cannot listen for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn migrate(args: MigrateArgs) -> Result<()> {
    let dir = manifest_dir(&args.app.manifest);
    let manifest = crate::manifest::Manifest::load(&args.app.manifest)?;
    let rc =
        crate::runtime_config::RuntimeConfig::load(args.app.runtime_config_file.as_deref(), &dir)?;
    let db = &rc.sqlite_databases["default"];
    let mdir = args
        .migrations
        .unwrap_or_else(|| manifest.dir.join("migrations"));
    let applied = crate::migrations::migrate(db, &mdir)?;
    for name in &applied {
        println!("applied {name}");
    }
    println!("{} migration(s) applied to {}", applied.len(), db.display());
    Ok(())
}

async fn admin_user(client: &StoreClient, command: UserCommand) -> Result<()> {
    match command {
        UserCommand::Add {
            username,
            password,
            password_stdin,
            claims,
            id,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                password
            };
            let user = accounts::new_user(id, &username, password.as_deref(), claims.as_deref())?;
            client.create_user(&user).await?;
            println!("created user {} (id {})", user.username, user.id);
        }
        UserCommand::List => {
            for u in client.list_users().await? {
                let state = if u.disabled { " (disabled)" } else { "" };
                println!("{}\t{}{}", u.id, u.username, state);
            }
        }
        UserCommand::Delete { id } => {
            if !client.delete_user(&id).await? {
                return Err(format_err!("no user with id {id}"));
            }
            println!("deleted user {id}");
        }
        UserCommand::SetUserCode {
            username,
            user_code,
            user_code_stdin,
            clear,
        } => {
            let user = client
                .find_user(&username)
                .await?
                .ok_or_else(|| format_err!("no user named {username}"))?;
            if clear {
                let had = client.clear_user_code(&user.id).await?;
                let what = if had { "removed" } else { "had no" };
                println!("{what} user code for {}", user.username);
                return Ok(());
            }
            let code = match (user_code, user_code_stdin) {
                (_, true) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
                (Some(code), false) => code,
                (None, false) => {
                    return Err(format_err!(
                        "give --user-code, --user-code-stdin or --clear"
                    ));
                }
            };
            let hash = accounts::user_code_hash(&code)?;
            client
                .set_user_code(&user.id, &hash, accounts::now())
                .await?;
            println!("set user code for {}", user.username);
        }
    }
    Ok(())
}

async fn admin_client(client: &StoreClient, command: ClientCommand) -> Result<()> {
    match command {
        ClientCommand::Add {
            metadata,
            client_id,
            client_secret,
        } => {
            let text = std::fs::read_to_string(&metadata)
                .map_err(|e| format_err!("cannot read {}: {e}", metadata.display()))?;
            let new = accounts::new_client(&text, client_id, client_secret)?;
            client
                .create_client(&new.client, new.secret.as_deref(), new.keep_for_mac)
                .await?;
            println!("client_id: {}", new.client.client_id);
            if let Some(secret) = &new.secret {
                println!("client_secret: {secret}");
            }
        }
        ClientCommand::List => {
            for c in client.list_clients().await? {
                println!("{}\t{}", c.client_id, c.metadata_json);
            }
        }
        ClientCommand::Delete { client_id } => {
            if !client.delete_client(&client_id).await? {
                return Err(format_err!("no client {client_id}"));
            }
            println!("deleted client {client_id}");
        }
    }
    Ok(())
}

async fn admin_issuer(client: &StoreClient, command: IssuerCommand) -> Result<()> {
    use crate::admin::{SubjectMapping, TrustedIssuer};
    match command {
        IssuerCommand::Add {
            issuer,
            jwks,
            jwks_uri,
            subjects,
            scope,
            mapping,
        } => {
            let jwks_json = match jwks {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format_err!("cannot read {}: {e}", path.display()))?;
                    // Fail here, not at the first assertion.
                    let value: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|_| format_err!("{}: not JSON", path.display()))?;
                    if !value.get("keys").is_some_and(serde_json::Value::is_array) {
                        return Err(format_err!("{}: not a JWK Set", path.display()));
                    }
                    Some(text)
                }
                None => None,
            };
            if jwks_uri
                .as_ref()
                .is_some_and(|u| !u.starts_with("https://"))
            {
                return Err(format_err!("--jwks-uri must be an https URL"));
            }
            let t = TrustedIssuer {
                issuer: issuer.clone(),
                jwks_json,
                jwks_uri,
                allowed_subjects: subjects,
                allowed_scopes: scope.split_whitespace().map(str::to_owned).collect(),
                subject_mapping: match mapping {
                    Mapping::User => SubjectMapping::User,
                    Mapping::Service => SubjectMapping::Service,
                },
                created_at: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs() as i64)
                    .unwrap_or(0),
            };
            client.put_issuer(&t).await?;
            println!("trusted issuer {issuer}");
        }
        IssuerCommand::List => {
            for i in client.list_issuers().await? {
                let keys = match (&i.jwks_uri, &i.jwks_json) {
                    (Some(uri), _) => uri.clone(),
                    _ => "jwks by value".to_owned(),
                };
                let mapping = match i.subject_mapping {
                    SubjectMapping::User => "user",
                    SubjectMapping::Service => "service",
                };
                println!(
                    "{}\t{}\tsubjects={}\tscope={}\t{}",
                    i.issuer,
                    mapping,
                    i.allowed_subjects.join(","),
                    i.allowed_scopes.join(" "),
                    keys
                );
            }
        }
        IssuerCommand::Remove { issuer } => {
            if !client.remove_issuer(&issuer).await? {
                return Err(format_err!("no trusted issuer {issuer}"));
            }
            println!("removed trusted issuer {issuer}");
        }
    }
    Ok(())
}

async fn admin(args: AdminArgs) -> Result<()> {
    let dir = manifest_dir(&args.app.manifest);
    let overrides = if args.dev {
        dev_master_key(&dir, declares_master_key(&args.app.manifest))?
    } else {
        HashMap::new()
    };
    let opts = app_options(&args.app, args.cache_dir.clone(), 8);
    let env = env_lookup(overrides);
    let app = App::load(&opts, &env)?;
    // The store's schema must exist before its code runs (a fresh database).
    apply_migrations(&app, None)?;
    let app = Arc::new(app);
    let client = StoreClient::new(app.clone())?;
    let result = match args.command {
        AdminCommand::Keys { command } => match command {
            KeysCommand::Rotate {
                alg,
                publish_delay,
                retention,
                immediate,
            } => {
                let delay = if immediate { 0 } else { publish_delay };
                if immediate {
                    eprintln!(
                        "authrim: --immediate: the new {alg} key signs NOW; relying parties with a cached JWKS \
                         will reject its tokens until they refetch. Use only in an emergency."
                    );
                }
                let k = client.rotate_key(&alg, delay, retention).await?;
                print!("{}", format_keys(std::slice::from_ref(&k)));
                Ok(())
            }
            KeysCommand::List => {
                print!("{}", format_keys(&client.list_keys().await?));
                Ok(())
            }
            KeysCommand::Ensure => {
                print!("{}", format_keys(&client.ensure_keys().await?));
                Ok(())
            }
        },
        AdminCommand::User { command } => admin_user(&client, command).await,
        AdminCommand::Client { command } => admin_client(&client, command).await,
        AdminCommand::Issuer { command } => admin_issuer(&client, command).await,
    };
    app.dbs.close();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> std::result::Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("authrim").chain(args.iter().copied()))
    }

    #[test]
    fn issuer_add_parses() {
        let Command::Admin(a) = parse(&[
            "admin",
            "issuer",
            "add",
            "--issuer",
            "https://idp.example",
            "--jwks-uri",
            "https://idp.example/jwks",
            "--subject",
            "a",
            "--subject",
            "b",
            "--mapping",
            "service",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        let AdminCommand::Issuer {
            command:
                IssuerCommand::Add {
                    jwks,
                    jwks_uri,
                    subjects,
                    scope,
                    mapping,
                    ..
                },
        } = a.command
        else {
            panic!()
        };
        assert_eq!(jwks, None);
        assert_eq!(jwks_uri.as_deref(), Some("https://idp.example/jwks"));
        assert_eq!(subjects, ["a", "b"]);
        assert_eq!(scope, "");
        assert_eq!(mapping, Mapping::Service);
        // Exactly one key source, at least one subject, a mapping.
        for bad in [
            &[
                "admin",
                "issuer",
                "add",
                "--issuer",
                "i",
                "--subject",
                "*",
                "--mapping",
                "user",
            ][..],
            &[
                "admin",
                "issuer",
                "add",
                "--issuer",
                "i",
                "--jwks",
                "f",
                "--jwks-uri",
                "https://i/j",
                "--subject",
                "*",
                "--mapping",
                "user",
            ],
            &[
                "admin",
                "issuer",
                "add",
                "--issuer",
                "i",
                "--jwks",
                "f",
                "--mapping",
                "user",
            ],
            &[
                "admin",
                "issuer",
                "add",
                "--issuer",
                "i",
                "--jwks",
                "f",
                "--subject",
                "*",
            ],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn up_defaults() {
        let Command::Up(a) = parse(&["up"]).unwrap().command else {
            panic!()
        };
        assert_eq!(a.listen, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(a.app.manifest, PathBuf::from("spin.toml"));
        assert_eq!(a.max_body_bytes, 1 << 20);
        assert_eq!(a.request_timeout_secs, 30);
        assert!(!a.dev);
        assert!(a.app.runtime_config_file.is_none());
    }

    #[test]
    fn rotate_arguments() {
        let cli = parse(&[
            "admin",
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--manifest",
            "x.toml",
            "--dev",
        ])
        .unwrap();
        let Command::Admin(a) = cli.command else {
            panic!()
        };
        assert_eq!(a.app.manifest, PathBuf::from("x.toml"));
        assert!(a.dev);
        let AdminCommand::Keys {
            command:
                KeysCommand::Rotate {
                    alg,
                    publish_delay,
                    retention,
                    immediate,
                },
        } = a.command
        else {
            panic!()
        };
        assert_eq!(
            (alg.as_str(), publish_delay, retention, immediate),
            ("ES256", 1200, 86400, false)
        );
        assert!(parse(&["admin", "keys", "rotate", "--alg", "HS256"]).is_err());
        assert!(parse(&["admin", "keys", "rotate"]).is_err());
        assert!(
            parse(&[
                "admin",
                "keys",
                "rotate",
                "--alg",
                "RS256",
                "--immediate",
                "--publish-delay",
                "5"
            ])
            .is_err()
        );
        assert!(parse(&["admin", "keys", "rotate", "--alg", "RS256", "--immediate"]).is_ok());
        assert!(parse(&["admin", "keys", "list"]).is_ok());
        assert!(parse(&["admin", "keys", "ensure"]).is_ok());
    }
}
