//! Helpers for the runner's integration tests: build the fixture wasm if
//! needed, start the `authrim` binary on port 0, speak HTTP/1.1 over a raw
//! TcpStream.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn wasm_dir() -> PathBuf {
    repo_root().join("target/wasm32-wasip2/release")
}

fn cargo_build(args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(repo_root())
        .args([
            "build",
            "--target",
            "wasm32-wasip2",
            "--release",
            "-p",
            "runner-probe",
        ])
        .args(args)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building the probe fixture failed");
}

/// Builds `runner_probe.wasm` if it is missing.
pub fn probe_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let p = wasm_dir().join("runner_probe.wasm");
            if !p.exists() {
                cargo_build(&[]);
            }
            assert!(p.exists(), "{} missing", p.display());
            p
        })
        .clone()
}

/// Builds `examples/probe_store.wasm` if it is missing.
pub fn store_probe_wasm() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let p = wasm_dir().join("examples/probe_store.wasm");
            if !p.exists() {
                cargo_build(&["--example", "probe_store"]);
            }
            assert!(p.exists(), "{} missing", p.display());
            p
        })
        .clone()
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let n: u64 = rand::random();
        let p = std::env::temp_dir().join(format!("authrim-it-{tag}-{}-{n:x}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A runtime config putting every store of the fixtures in `dir`.
pub fn runtime_config(dir: &Path) -> PathBuf {
    let p = dir.join("runtime-config.toml");
    std::fs::write(
        &p,
        "[sqlite_database.default]\ntype = \"spin\"\npath = \"default.db\"\n\n\
         [sqlite_database.other]\ntype = \"spin\"\npath = \"other.db\"\n\n\
         [key_value_store.default]\ntype = \"spin\"\npath = \"kv.db\"\n",
    )
    .unwrap();
    p
}

/// The compile cache shared by all test runs (under target/).
pub fn cache_dir() -> PathBuf {
    repo_root().join("target/authrim-test-cache")
}

/// A running `authrim up`, killed on drop.
pub struct Runner {
    pub child: Child,
    pub addr: SocketAddr,
    pub stdout_lines: Vec<String>,
    pub stderr: Arc<Mutex<String>>,
    pub dir: TempDir,
}

impl Runner {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
    /// Sends a signal with the `kill` utility.
    pub fn signal(&self, sig: &str) {
        let st = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }
    /// Waits for the process to exit (up to `limit`).
    pub fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Start<'a> {
    pub manifest: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
}

impl<'a> Start<'a> {
    pub fn fixture() -> Self {
        probe_wasm();
        Start {
            manifest: repo_root().join("tests/fixtures/spin.toml"),
            args: Vec::new(),
            env: vec![("SPIN_VARIABLE_SECRET_TOKEN", "t0ken".to_string())],
        }
    }
    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_string());
        self
    }
    pub fn env(mut self, k: &'a str, v: &str) -> Self {
        self.env.push((k, v.to_string()));
        self
    }

    fn command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_authrim"));
        cmd.arg("up")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--manifest")
            .arg(&self.manifest)
            .arg("--runtime-config-file")
            .arg(runtime_config(dir))
            .arg("--cache-dir")
            .arg(cache_dir());
        if !self.args.iter().any(|a| a == "--max-instances") {
            cmd.arg("--max-instances").arg("32");
        }
        if !self.args.iter().any(|a| a == "--migrations") {
            cmd.arg("--migrations").arg(dir.join("migrations"));
        }
        cmd.args(&self.args);
        cmd.env_remove("SPIN_VARIABLE_SECRET_TOKEN")
            .env_remove("SPIN_VARIABLE_MASTER_KEY");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `authrim up` expecting it to fail at start; returns stderr.
    pub fn expect_failure(self) -> String {
        let dir = TempDir::new("fail");
        let out = self
            .command(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "runner started although it should have refused: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Starts the runner and waits for "Serving http://...".
    pub fn start(self) -> Runner {
        let dir = TempDir::new("run");
        self.start_in(dir)
    }

    pub fn start_in(self, dir: TempDir) -> Runner {
        let mut child = self
            .command(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let stderr = stderr.clone();
            let mut e = child.stderr.take().unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = e.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    let found = line
                        .strip_prefix("Serving http://")
                        .map(|a| a.trim().parse::<SocketAddr>().unwrap());
                    lines.push(line);
                    if let Some(a) = found {
                        break a;
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait().unwrap() {
                        panic!(
                            "runner exited ({status}) before serving:\n{}",
                            stderr.lock().unwrap()
                        );
                    }
                    if Instant::now() >= deadline {
                        let _ = child.kill();
                        panic!("runner did not start in time:\n{}", stderr.lock().unwrap());
                    }
                }
                Err(_) => {
                    let _ = child.wait();
                    panic!("runner stdout closed:\n{}", stderr.lock().unwrap());
                }
            }
        };
        // The route listing follows the Serving line.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            lines.push(line);
        }
        Runner {
            child,
            addr,
            stdout_lines: lines,
            stderr,
            dir,
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes and reads the whole response (the connection is closed
/// by the request's `Connection: close` or by the server).
pub fn raw(addr: SocketAddr, request: &[u8]) -> HttpResponse {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(request).unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    parse_response(&buf)
        .unwrap_or_else(|| panic!("cannot parse response: {:?}", String::from_utf8_lossy(&buf)))
}

pub fn parse_response(buf: &[u8]) -> Option<HttpResponse> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        let mut r = rest;
        loop {
            let nl = r.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&r[..nl])
                    .ok()?
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            r = &r[nl + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(r.get(..size)?);
            r = r.get(size + 2..)?;
        }
        out
    } else if let Some(len) = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        rest.get(..len)?.to_vec()
    } else {
        rest.to_vec()
    };
    Some(HttpResponse {
        status,
        headers,
        body,
    })
}

pub fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> HttpResponse {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw(addr, &req)
}

pub fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    raw(addr, req.as_bytes())
}

/// Percent-encodes a query value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
