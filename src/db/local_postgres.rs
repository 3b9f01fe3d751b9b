//! A private PostgreSQL cluster started from the locally installed server binaries.
//!
//! Used by `cms serve` when `DATABASE_URL` is unset, and by the tests. The server
//! listens only on a Unix socket inside its data folder, so it never collides with
//! another PostgreSQL on the machine. PostgreSQL refuses to run as root; as root the
//! cluster runs as the unprivileged `postgres` user that the Debian package creates.
//!
//! The postmaster is a child of a dedicated thread that lives as long as the process
//! and, on Linux, asks the kernel to signal the postmaster when that thread dies
//! (`PR_SET_PDEATHSIG`): even a killed `cms` never leaves a server running behind it.
//! On other Unix systems (macOS, the BSDs) it stops with a clean exit or a signal,
//! and one left behind by a `cms` killed outright is reused by the next start.

use std::ffi::CString;
use std::fs;
use std::os::unix::fs::{chown, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What to do with the cluster's files when the postmaster is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Keep the data and shut down cleanly (the service's own data).
    Persistent,
    /// Throwaway data (the tests): no fsync, immediate shutdown.
    Throwaway,
}

/// Why the private cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LocalPostgresError {
    #[error(
        "no PostgreSQL server binaries (initdb, postgres) were found (CMS_POSTGRES_BIN, \
         PATH, /usr/lib/postgresql/*/bin). Either install PostgreSQL (Debian: `apt-get install \
         postgresql`), or set DATABASE_URL to a server you run, or use `docker compose up`"
    )]
    BinariesNotFound,
    #[error(
        "PostgreSQL refuses to run as root and there is no unprivileged `postgres` user to \
         run it as; create one (`useradd --system postgres`) or set DATABASE_URL"
    )]
    NoUnprivilegedUser,
    #[error("{0}")]
    Io(String),
    #[error("{what} failed; see {log}", log = .log.display())]
    Failed { what: String, log: PathBuf },
}

fn io(what: &str, path: &Path, e: std::io::Error) -> LocalPostgresError {
    LocalPostgresError::Io(format!("{what} {}: {e}", path.display()))
}

/// A running private cluster. Dropping it (or calling [`LocalPostgres::stop`]) stops
/// the server.
pub struct LocalPostgres {
    data_dir: PathBuf,
    stop: Option<mpsc::Sender<()>>,
    stopped: Option<mpsc::Receiver<()>>,
}

impl LocalPostgres {
    /// Starts (creating it first if needed) the cluster whose files live in `data_dir`.
    /// Its log goes to `<data_dir>.log`. The server binaries are taken from `bin_dir`
    /// when given, else found on PATH or under /usr/lib/postgresql/*/bin.
    pub fn start(
        data_dir: &Path,
        bin_dir: Option<&Path>,
        durability: Durability,
    ) -> Result<Self, LocalPostgresError> {
        let bin_dir = match bin_dir {
            Some(dir) if has_binaries(dir) => dir.to_path_buf(),
            Some(_) => return Err(LocalPostgresError::BinariesNotFound),
            None => find_bin_dir().ok_or(LocalPostgresError::BinariesNotFound)?,
        };
        let owner = unprivileged_owner()?;
        let data_dir = absolute(data_dir)?;
        let log = data_dir.with_extension("log");
        if let Some(parent) = data_dir.parent() {
            fs::create_dir_all(parent).map_err(|e| io("cannot create", parent, e))?;
        }

        if !data_dir.join("PG_VERSION").exists() {
            init_cluster(&bin_dir, &data_dir, &log, owner)?;
        }
        // Another cms process (a running `cms serve`, say) already serves this
        // folder: use its server, and leave stopping it to that process.
        if let Some(attached) = attach_running(&data_dir, Duration::ZERO) {
            return Ok(attached);
        }
        wait_for_previous_postmaster(&data_dir)?;

        let (started_tx, started_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (stopped_tx, stopped_rx) = mpsc::channel::<()>();
        let postgres = bin_dir.join("postgres");
        let thread_data_dir = data_dir.clone();
        let thread_log = log.clone();
        std::thread::Builder::new()
            .name("local-postgres".into())
            .spawn(move || {
                let child =
                    spawn_postmaster(&postgres, &thread_data_dir, &thread_log, owner, durability);
                let mut child = match child {
                    Ok(child) => child,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(child.id()));
                // Park until asked to stop (or until the handle is dropped).
                let _ = stop_rx.recv();
                let signal = match durability {
                    Durability::Persistent => libc::SIGINT, // fast shutdown: clean, keeps data
                    Durability::Throwaway => libc::SIGQUIT, // immediate shutdown
                };
                // SAFETY: plain kill(2) on our own child's pid.
                unsafe { libc::kill(child.id() as libc::pid_t, signal) };
                let _ = child.wait();
                let _ = stopped_tx.send(());
            })
            .map_err(|e| LocalPostgresError::Io(format!("cannot start a thread: {e}")))?;

        let pid = started_rx
            .recv()
            .map_err(|_| LocalPostgresError::Io("the postgres thread died".into()))??;
        let handle = LocalPostgres {
            data_dir: data_dir.clone(),
            stop: Some(stop_tx),
            stopped: Some(stopped_rx),
        };
        if let Err(error) = wait_until_ready(&data_dir, pid, &log) {
            // Another cms process may have started the server at the same moment
            // (ours then stops at once): use theirs.
            drop(handle);
            return match attach_running(&data_dir, Duration::from_secs(10)) {
                Some(attached) => Ok(attached),
                None => Err(error),
            };
        }
        Ok(handle)
    }

    /// Whether another process runs this server (this handle only attached to it,
    /// and stopping it is left to that process).
    pub fn is_attached(&self) -> bool {
        self.stop.is_none()
    }

    /// The folder holding the server's Unix socket (its data folder).
    pub fn socket_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Connection settings for database `dbname` on this cluster.
    pub fn config(&self, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.data_dir)
            .port(5432)
            .user("postgres")
            .dbname(dbname);
        config
    }

    /// Stops the server and waits until it has exited.
    pub fn stop(mut self) {
        self.stop_and_wait();
    }

    fn stop_and_wait(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.recv_timeout(Duration::from_secs(60));
        }
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.stop_and_wait();
    }
}

fn has_binaries(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// The folder with `initdb` and `postgres`: PATH first, then Debian's layout (newest
/// major version first).
fn find_bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_binaries(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_binaries(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

/// The uid/gid to run the server as: ourselves, or `postgres` when we are root.
fn unprivileged_owner() -> Result<Option<(u32, u32)>, LocalPostgresError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").map_err(|_| LocalPostgresError::NoUnprivilegedUser)?;
    // SAFETY: getpwnam returns a pointer into static storage or null; we copy the
    // two integers out immediately and this runs before any other thread uses it.
    let passwd = unsafe { libc::getpwnam(name.as_ptr()) };
    if passwd.is_null() {
        return Err(LocalPostgresError::NoUnprivilegedUser);
    }
    // SAFETY: checked non-null above.
    let (uid, gid) = unsafe { ((*passwd).pw_uid, (*passwd).pw_gid) };
    Ok(Some((uid, gid)))
}

fn absolute(path: &Path) -> Result<PathBuf, LocalPostgresError> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| LocalPostgresError::Io(format!("cannot read the current folder: {e}")))?;
    Ok(cwd.join(path))
}

fn run_as(command: &mut Command, owner: Option<(u32, u32)>) -> &mut Command {
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid);
    }
    command
}

fn log_file(log: &Path, owner: Option<(u32, u32)>) -> Result<fs::File, LocalPostgresError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| io("cannot open", log, e))?;
    if let Some((uid, gid)) = owner {
        chown(log, Some(uid), Some(gid)).map_err(|e| io("cannot chown", log, e))?;
    }
    Ok(file)
}

/// Creates the cluster in a staging folder and moves it into place, so that two
/// processes starting at once never initialise (or clean up) the same folder.
fn init_cluster(
    bin_dir: &Path,
    data_dir: &Path,
    log: &Path,
    owner: Option<(u32, u32)>,
) -> Result<(), LocalPostgresError> {
    let staging = data_dir.with_extension(format!("init-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    fs::create_dir_all(&staging).map_err(|e| io("cannot create", &staging, e))?;
    fs::set_permissions(&staging, fs::Permissions::from_mode(0o700))
        .map_err(|e| io("cannot set permissions on", &staging, e))?;
    if let Some((uid, gid)) = owner {
        chown(&staging, Some(uid), Some(gid)).map_err(|e| io("cannot chown", &staging, e))?;
        check_reachable_by(&staging, uid)?;
    }
    let out = log_file(log, owner)?;
    let err = out.try_clone().map_err(|e| io("cannot open", log, e))?;
    let status = run_as(&mut Command::new(bin_dir.join("initdb")), owner)
        .arg("--pgdata")
        .arg(&staging)
        .args([
            "--username=postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| io("cannot run initdb for", &staging, e))?;
    if !status.success() {
        let _ = fs::remove_dir_all(&staging);
        return Err(LocalPostgresError::Failed {
            what: "initdb".into(),
            log: log.to_path_buf(),
        });
    }
    // An empty folder left by an earlier attempt may stand in the way.
    let _ = fs::remove_dir(data_dir);
    match fs::rename(&staging, data_dir) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            if data_dir.join("PG_VERSION").exists() {
                Ok(()) // another process made it first: use theirs
            } else {
                Err(io("cannot move the new cluster to", data_dir, e))
            }
        }
    }
}

/// As root the server runs as another user, who must be able to reach the folder.
fn check_reachable_by(data_dir: &Path, uid: u32) -> Result<(), LocalPostgresError> {
    use std::os::unix::fs::MetadataExt;
    for dir in data_dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let mode = meta.mode();
        let traversable = mode & 0o001 != 0 || (meta.uid() == uid && mode & 0o100 != 0);
        if !traversable {
            return Err(LocalPostgresError::Io(format!(
                "the `postgres` user cannot enter {}; run `chmod o+x {}` or set CMS_DATA_DIR \
                 to a folder it can reach",
                dir.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}

/// A postmaster from an earlier run may still be shutting down after its parent died.
fn wait_for_previous_postmaster(data_dir: &Path) -> Result<(), LocalPostgresError> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while let Some(pid) = postmaster_pid(data_dir) {
        if !process_alive(pid) {
            break;
        }
        if Instant::now() > deadline {
            return Err(LocalPostgresError::Io(format!(
                "another PostgreSQL (pid {pid}) is already using {}; stop it or set \
                 CMS_DATA_DIR to another folder",
                data_dir.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// A handle on a server that another process runs for `data_dir`, once it is ready
/// (waiting up to `patience`); stopping it is left to that process.
fn attach_running(data_dir: &Path, patience: Duration) -> Option<LocalPostgres> {
    let deadline = Instant::now() + patience;
    loop {
        let pid = postmaster_pid(data_dir)?;
        if !process_alive(pid) {
            return None;
        }
        if postmaster_status(data_dir).as_deref() == Some("ready") {
            return Some(LocalPostgres {
                data_dir: data_dir.to_path_buf(),
                stop: None,
                stopped: None,
            });
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status line of `postmaster.pid` (`ready` once it accepts connections).
fn postmaster_status(data_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    Some(text.lines().nth(7)?.trim().to_string())
}

fn postmaster_pid(data_dir: &Path) -> Option<i32> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// Makes the server stop when the thread that started it ends, however `cms` ends
/// (`PR_SET_PDEATHSIG`, Linux only).
#[cfg(target_os = "linux")]
fn stop_with_parent(command: &mut Command, durability: Durability) {
    let death_signal = match durability {
        Durability::Persistent => libc::SIGINT,
        Durability::Throwaway => libc::SIGQUIT,
    } as libc::c_ulong;
    // SAFETY: prctl is async-signal-safe; it runs in the child between fork and exec,
    // after the switch to the unprivileged user (which would otherwise clear it).
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, death_signal, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Elsewhere (macOS, the BSDs) there is no parent-death signal: the server stops
/// when `cms` exits normally or on SIGINT/SIGTERM, and a `cms` killed outright
/// leaves it running, to be reused by the next start.
#[cfg(not(target_os = "linux"))]
fn stop_with_parent(_command: &mut Command, _durability: Durability) {}

/// Whether a process with this pid runs (a zombie, exited but not yet reaped, does not).
#[cfg(target_os = "linux")]
pub(crate) fn process_alive(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: `pid (comm) S ...`.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

/// Whether a process with this pid runs. Without `/proc` (macOS, the BSDs) a zombie
/// counts as running until its parent reaps it.
#[cfg(not(target_os = "linux"))]
pub(crate) fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

fn spawn_postmaster(
    postgres: &Path,
    data_dir: &Path,
    log: &Path,
    owner: Option<(u32, u32)>,
    durability: Durability,
) -> Result<Child, LocalPostgresError> {
    let out = log_file(log, owner)?;
    let err = out.try_clone().map_err(|e| io("cannot open", log, e))?;
    let mut command = Command::new(postgres);
    run_as(&mut command, owner)
        .arg("-D")
        .arg(data_dir)
        .arg("-k")
        .arg(data_dir)
        .args(["-c", "listen_addresses=", "-c", "max_connections=200"]);
    if durability == Durability::Throwaway {
        command.args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]);
    }
    stop_with_parent(&mut command, durability);
    command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| io("cannot start postgres for", data_dir, e))
}

/// Waits until `postmaster.pid` says the server accepts connections, as `pg_ctl -w` does.
fn wait_until_ready(data_dir: &Path, pid: u32, log: &Path) -> Result<(), LocalPostgresError> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status_line = fs::read_to_string(data_dir.join("postmaster.pid"))
            .ok()
            .and_then(|text| {
                let mut lines = text.lines();
                let file_pid = lines.next()?.trim().parse::<u32>().ok()?;
                let status = lines.nth(6)?.trim().to_string();
                (file_pid == pid).then_some(status)
            });
        if status_line.as_deref() == Some("ready") {
            return Ok(());
        }
        if !process_alive(pid as i32) || Instant::now() > deadline {
            return Err(LocalPostgresError::Failed {
                what: "starting postgres".into(),
                log: log.to_path_buf(),
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
