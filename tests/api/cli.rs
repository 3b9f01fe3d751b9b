//! The `cms` binary: configuration checks, the private PostgreSQL it starts when
//! `DATABASE_URL` is unset, and the spec it prints.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::database_url;

const CMS: &str = env!("CARGO_BIN_EXE_cms");

/// A `cms` command with a clean environment: no DATABASE_URL, no CMS_* settings.
fn cms(args: &[&str]) -> Command {
    let mut command = Command::new(CMS);
    command.args(args).stdin(Stdio::null());
    for (key, _) in std::env::vars() {
        if key == "DATABASE_URL" || key.starts_with("CMS_") {
            command.env_remove(key);
        }
    }
    command
}

/// A scratch folder that the unprivileged `postgres` user can reach.
fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cms-cli-test-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_invalid_setting_stops_the_start_with_a_message_naming_it() {
    let output = cms(&["serve"])
        .env("CMS_BIND", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CMS_BIND"), "{stderr}");
    assert!(stderr.contains("not-an-address"), "{stderr}");
}

#[test]
fn without_postgresql_binaries_the_message_names_the_three_ways_out() {
    let dir = scratch_dir();
    let output = cms(&["serve"])
        .env("CMS_DATA_DIR", &dir)
        .env("CMS_POSTGRES_BIN", dir.join("no-such-folder"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for way_out in ["install PostgreSQL", "DATABASE_URL", "docker compose up"] {
        assert!(stderr.contains(way_out), "{way_out:?} in {stderr}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_openapi_command_prints_the_committed_spec() {
    let output = cms(&["openapi"]).output().unwrap();
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&output.stdout) == committed,
        "openapi/openapi.json is stale; regenerate it with \
         `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn with_database_url_set_a_missing_database_is_created() {
    let name = format!("cms_cli_{}", uuid::Uuid::new_v4().simple());
    let output = cms(&["migrate"])
        .env("DATABASE_URL", database_url(&name))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("created database"), "{stderr}");
    // A second run finds it and has nothing to apply.
    let output = cms(&["migrate"])
        .env("DATABASE_URL", database_url(&name))
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(!String::from_utf8_lossy(&output.stderr).contains("created database"));
}

#[test]
fn an_unreachable_database_url_is_one_line_naming_the_server_and_the_cause() {
    // A port nothing listens on (bound, then let go).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let output = cms(&["migrate"])
        .env(
            "DATABASE_URL",
            format!("postgres://editor:s3cret-pw@127.0.0.1:{port}/newsroom"),
        )
        .env("CMS_DB_CONNECT_TIMEOUT_MS", "1200")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "CMS_DB_CONNECT_TIMEOUT_MS bounds the wait"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    // Retries are summed up: one line when the wait starts, the error (as a log
    // line and as the command's last word), nothing per attempt.
    assert!(lines.len() <= 4, "{stderr}");
    let waiting = lines
        .iter()
        .filter(|l| l.contains("waiting for PostgreSQL"))
        .count();
    assert_eq!(waiting, 1, "{stderr}");
    let last = lines.last().copied().unwrap_or_default();
    assert!(
        last.starts_with("cms: cannot connect to PostgreSQL at "),
        "{last}"
    );
    for part in [
        format!("127.0.0.1:{port}"),
        "database \"newsroom\"".to_string(),
        "user \"editor\"".to_string(),
        "connection refused".to_string(),
        "tried ".to_string(),
        "DATABASE_URL".to_string(),
    ] {
        assert!(last.contains(&part), "{part:?} in {last}");
    }
    assert!(
        !stderr.contains("s3cret-pw"),
        "the password is never shown: {stderr}"
    );
}

struct Service {
    child: Child,
    address: String,
    log: PathBuf,
}

impl Service {
    fn start(data_dir: &Path) -> Service {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = data_dir.join(format!("cms-{port}.log"));
        let child = cms(&[])
            .env("CMS_DATA_DIR", data_dir)
            .env("CMS_BIND", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Service {
            child,
            address: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    async fn wait_until_up(&mut self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("{}/readyz", self.address)).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("cms exited with {status}: {}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cms did not come up: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) -> String {
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        assert!(status.success(), "clean exit on SIGTERM: {}", self.log());
        self.log()
    }
}

/// A test that fails half-way must not leave the service (and its PostgreSQL)
/// running.
impl Drop for Service {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // SAFETY: kill(2) on our own child.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
            let _ = self.child.wait();
        }
    }
}

#[tokio::test]
async fn serve_starts_a_private_postgresql_keeps_its_data_and_stops_it() {
    let data_dir = scratch_dir();
    let client = reqwest::Client::new();

    let mut service = Service::start(&data_dir);
    service.wait_until_up(&client).await;
    // The first token comes from the command line, while the service runs.
    let output = cms(&[
        "token",
        "create",
        "--name",
        "first editor",
        "--scope",
        "content:write",
    ])
    .env("CMS_DATA_DIR", &data_dir)
    .output()
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // It says it used the running server's PostgreSQL, not that it started (or
    // stopped) one.
    let token_log = String::from_utf8_lossy(&output.stderr);
    assert!(token_log.contains("attached to it"), "{token_log}");
    assert!(
        !token_log.contains("started a private PostgreSQL"),
        "{token_log}"
    );
    assert!(!token_log.contains("stopping"), "{token_log}");
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let anonymous = client
        .post(format!("{}/api/v1/tags", service.address))
        .json(&json!({"name": "Kept across restarts"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let created = client
        .post(format!("{}/api/v1/tags", service.address))
        .bearer_auth(&token)
        .json(&json!({"name": "Kept across restarts"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // A malformed request is answered 400 and writes no ERROR line.
    let address = service.address.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    tokio::io::AsyncReadExt::read_exact(&mut stream, &mut answer)
        .await
        .unwrap();
    assert_eq!(&answer, b"HTTP/1.1 400");
    let log = service.terminate();
    assert!(log.contains("started a private PostgreSQL"), "{log}");
    assert!(!log.contains("ERROR"), "{log}");
    // One line per request, with its id, method, path, status and latency.
    let line = log
        .lines()
        .find(|l| l.contains("method=POST path=/api/v1/tags status=201"))
        .unwrap_or_else(|| panic!("a request line in {log}"));
    assert!(
        line.contains("latency_ms=") && line.contains("request_id="),
        "{line}"
    );
    assert!(data_dir.join("postgres").join("PG_VERSION").exists());
    assert!(
        !data_dir.join("postgres").join("postmaster.pid").exists(),
        "PostgreSQL was stopped cleanly with the service"
    );
    let socket_left = std::fs::read_dir(data_dir.join("postgres"))
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(".s.PGSQL"));
    assert!(!socket_left, "the Unix socket is gone with the server");

    let mut service = Service::start(&data_dir);
    service.wait_until_up(&client).await;
    let tag: Value = client
        .get(format!(
            "{}/api/v1/tags/kept-across-restarts",
            service.address
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tag["name"], "Kept across restarts",
        "the second start reuses the data"
    );
    service.terminate();
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn tokens_are_created_listed_and_revoked_from_the_command_line() {
    let name = format!("cms_cli_{}", uuid::Uuid::new_v4().simple());
    let url = database_url(&name);
    let run = |args: &[&str]| cms(args).env("DATABASE_URL", &url).output().unwrap();

    let created = run(&["token", "create", "--name", "bootstrap", "--scope", "admin"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let secret = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(secret.starts_with("cms_") && secret.len() == 56, "{secret}");
    assert!(String::from_utf8_lossy(&created.stderr).contains("only time"));

    let listed = run(&["token", "list"]);
    let list = String::from_utf8(listed.stdout).unwrap();
    let prefix = &secret[..12];
    assert!(
        list.contains(prefix) && list.contains("admin") && list.contains("active"),
        "{list}"
    );
    assert!(!list.contains(&secret[13..]), "the secret is never listed");

    let revoked = run(&["token", "revoke", prefix]);
    assert!(revoked.status.success());
    let list = String::from_utf8(run(&["token", "list"]).stdout).unwrap();
    assert!(list.contains("revoked"), "{list}");

    let bad = run(&["token", "create", "--name", "x", "--scope", "root"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("root"));
}
