//! Starting the runner and talking HTTP/1.1 to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A fixed development master key for tests (32 bytes, base64url).
pub const MASTER_KEY: &str = "dGVzdC1tYXN0ZXIta2V5LW5vdC1mb3ItcHJvZHVjdGlvbg";
pub const ISSUER: &str = "https://id.example.test";

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn runner_bin() -> PathBuf {
    match std::env::var_os("AUTHRIM_BIN") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join("target/runner/authrim"),
    }
}

/// A data directory with a runtime config pointing SQLite and key-value at
/// files inside it. Several runners may share one (replicas of one app).
pub struct DataDir {
    pub dir: tempfile::TempDir,
}

impl DataDir {
    pub fn new() -> DataDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("runtime-config.toml"),
            "[sqlite_database.default]\ntype = \"spin\"\npath = \"data/authrim.db\"\n\n\
             [key_value_store.default]\ntype = \"spin\"\npath = \"data/key_value.db\"\n",
        )
        .expect("write runtime config");
        DataDir { dir }
    }

    pub fn runtime_config(&self) -> PathBuf {
        self.dir.path().join("runtime-config.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("data/authrim.db")
    }
}

/// Runs an admin subcommand against the app's database; returns stdout.
pub fn admin(data: &DataDir, args: &[&str]) -> String {
    let out = admin_command(data, args)
        .output()
        .expect("run authrim admin");
    assert!(
        out.status.success(),
        "authrim admin {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn admin_command(data: &DataDir, args: &[&str]) -> Command {
    let mut cmd = Command::new(runner_bin());
    cmd.arg("admin");
    let mut cmd = with_app_args(cmd, &repo_root().join("spin.toml"), data);
    cmd.args(args);
    cmd
}

fn with_app_args(mut cmd: Command, manifest: &Path, data: &DataDir) -> Command {
    cmd.current_dir(repo_root())
        .env("SPIN_VARIABLE_MASTER_KEY", MASTER_KEY)
        .env("SPIN_VARIABLE_ISSUER", ISSUER)
        .env_remove("RUST_BACKTRACE")
        .arg("--manifest")
        .arg(manifest)
        .arg("--runtime-config-file")
        .arg(data.runtime_config())
        .arg("--cache-dir")
        .arg(repo_root().join("target/e2e-cache"));
    cmd
}

/// A running `authrim up`; killed when dropped.
pub struct App {
    child: Option<Child>,
    pub addr: String,
    log: Arc<Mutex<String>>,
}

impl App {
    /// The repo's spin.toml with a fresh data directory.
    pub fn start(data: &DataDir) -> App {
        App::start_manifest(&repo_root().join("spin.toml"), data, &[])
    }

    /// The repo's spin.toml with extra environment (e.g. variables).
    pub fn start_with_env(data: &DataDir, env: &[(&str, &str)]) -> App {
        let mut cmd = Command::new(runner_bin());
        cmd.arg("up");
        let mut cmd = with_app_args(cmd, &repo_root().join("spin.toml"), data);
        cmd.args(["--listen", "127.0.0.1:0"])
            .envs(env.iter().copied());
        App::spawn(cmd)
    }

    /// The repo's spin.toml on a chosen port with its issuer set to the
    /// address it serves, as client libraries that follow discovery need.
    pub fn start_as_issuer(data: &DataDir) -> App {
        App::start_as_issuer_with_env(data, &[])
    }

    /// [`App::start_as_issuer`] with extra environment.
    pub fn start_as_issuer_with_env(data: &DataDir, env: &[(&str, &str)]) -> App {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let issuer = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new(runner_bin());
        cmd.arg("up");
        let mut cmd = with_app_args(cmd, &repo_root().join("spin.toml"), data);
        cmd.args(["--listen", &format!("127.0.0.1:{port}")])
            .env("SPIN_VARIABLE_ISSUER", &issuer)
            .envs(env.iter().copied());
        App::spawn(cmd)
    }

    pub fn start_manifest(manifest: &Path, data: &DataDir, extra: &[&str]) -> App {
        let mut cmd = Command::new(runner_bin());
        cmd.arg("up");
        let mut cmd = with_app_args(cmd, manifest, data);
        cmd.args(["--listen", "127.0.0.1:0"]).args(extra);
        App::spawn(cmd)
    }

    fn spawn(mut cmd: Command) -> App {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .expect("start the runner (run scripts/build first)");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()) as Box<dyn Read + Send>,
        ] {
            let log = log.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("Serving http://").nth(1) {
                        let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                        let _ = tx.send(addr.trim_end_matches('/').to_string());
                    }
                    let mut l = log.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
                // End of output: the process has exited.
                let _ = tx.send(String::new());
            });
        }
        let mut ended = 0;
        let addr = loop {
            match rx.recv_timeout(Duration::from_secs(180)) {
                Ok(addr) if !addr.is_empty() => break Some(addr),
                Ok(_) => {
                    ended += 1;
                    if ended == 2 {
                        break None;
                    }
                }
                Err(_) => break None,
            }
        };
        let addr = match addr {
            Some(addr) => addr,
            None => {
                let _ = child.kill();
                panic!(
                    "the runner did not start; its output:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        App {
            child: Some(child),
            addr,
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
            self.addr
        );
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            req.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.raw(&bytes)
    }

    /// Sends raw bytes and parses whatever comes back.
    pub fn raw(&self, bytes: &[u8]) -> Response {
        let mut s = TcpStream::connect(&self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        // A server may answer and close before reading everything we send
        // (e.g. 413): ignore write errors and read the answer.
        let _ = s.write_all(bytes);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        Response::parse(&buf).unwrap_or_else(|| {
            panic!(
                "unparseable response {:?}\nrunner log:\n{}",
                String::from_utf8_lossy(&buf),
                self.log()
            )
        })
    }

    /// SIGTERM, then wait for exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let child = self.child.as_mut().unwrap();
        signal(child.id(), "TERM");
        let status = child.wait().expect("wait");
        self.child = None;
        status.success()
    }

    pub fn kill(mut self) {
        let child = self.child.as_mut().unwrap();
        signal(child.id(), "KILL");
        let _ = child.wait();
        self.child = None;
    }
}

pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    fn parse(buf: &[u8]) -> Option<Response> {
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&buf[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let raw = &buf[end + 4..];
        let chunked = headers
            .iter()
            .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
        let body = if chunked { dechunk(raw)? } else { raw.to_vec() };
        Some(Response {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_str = std::str::from_utf8(&raw[..line_end]).ok()?;
        let size = usize::from_str_radix(size_str.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}
