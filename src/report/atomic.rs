//! Output that appears whole or not at all, and an output folder locked against a second
//! writer.
//!
//! - A single file (`index.html`, a sweep's files) is written to a temporary file beside
//!   it, `.NAME.tmp-PID`, then renamed over it.
//! - A model's folder is written whole into a hidden sibling, `.MODEL.staging-PID`, and
//!   swapped in by [`Staging::commit`]: the old folder is renamed to `.MODEL.old-PID`, the
//!   staging folder to `MODEL`, the old folder's `sweep/` (which a run does not write) is
//!   moved into the new one, and the old folder is removed. Killed between the first two
//!   renames, `MODEL` is missing and `.MODEL.old-PID` holds the old outputs whole: the next
//!   run or sweep into the same `--out` renames it back (see [`lock_out`]).
//! - Every temporary is registered while it exists. On SIGINT or SIGTERM the CLI calls
//!   [`remove_temporaries_and_exit`], which removes them and exits; it takes the registry's
//!   lock and never gives it back, and temporaries are created and renamed only under that
//!   lock, so nothing is created or swapped in after the cleanup.
//! - Test hook: with `STATESIM_TEST_WRITE_PAUSE_MS` set, the writer sleeps that many
//!   milliseconds after each file it stages and between the two renames of a swap, so that
//!   tests can interrupt the write phase (`tests/suite/outputs.rs`); with
//!   `STATESIM_TEST_CLEAN_PAUSE_MS`, whoever cleans an output folder holds it alone that
//!   much longer, so that tests can start shares of a sweep during it (`tests/suite/sweep.rs`).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The lock file of an output folder (empty; the lock is a POSIX record lock on it).
pub const LOCK_FILE: &str = ".statesim.lock";
const TMP: &str = ".tmp-";
const STAGING: &str = ".staging-";
const OLD: &str = ".old-";
/// What a model folder keeps across a rewrite: the sweeps run into it.
const CARRIED_OVER: &[&str] = &["sweep"];

static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn registry() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner())
}

fn remove_path(path: &Path) {
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// Removes every temporary file and folder this process has created and not yet put in
/// place, then exits with `code`, still holding the registry (so no writer continues).
pub fn remove_temporaries_and_exit(code: i32) -> ! {
    let temporaries = registry();
    for path in temporaries.iter() {
        remove_path(path);
    }
    std::process::exit(code)
}

fn test_pause() {
    if let Some(ms) = std::env::var("STATESIM_TEST_WRITE_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// A hidden name for a temporary of `name` owned by this process.
fn temporary_name(name: &std::ffi::OsStr, mark: &str) -> String {
    format!(".{}{mark}{}", name.to_string_lossy(), std::process::id())
}

/// Creates `path` (a file, or a folder with `folder`) and registers it, under the registry's lock.
fn create_registered(path: &Path, folder: bool) -> std::io::Result<Option<File>> {
    let mut temporaries = registry();
    let file = if folder { std::fs::create_dir(path).map(|()| None) } else { File::create(path).map(Some) }?;
    temporaries.push(path.to_path_buf());
    Ok(file)
}

/// Runs `put_in_place` under the registry's lock and forgets the temporary; on failure
/// the temporary is removed.
fn settle(temporary: &Path, put_in_place: impl FnOnce() -> std::io::Result<()>) -> std::io::Result<()> {
    let mut temporaries = registry();
    let result = put_in_place();
    if result.is_err() {
        remove_path(temporary);
    }
    temporaries.retain(|p| p != temporary);
    result
}

fn write_synced(mut file: File, bytes: &[u8]) -> std::io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(temporary_name(path.file_name().unwrap_or_default(), TMP));
    let file = create_registered(&tmp, false)?.expect("a file");
    let written = write_synced(file, bytes);
    settle(&tmp, || written.and_then(|()| std::fs::rename(&tmp, path)))
}

/// Where files are written: a folder directly (each file atomically) or a staging folder.
pub trait Sink {
    /// Writes `name` with `bytes`; returns the path the file has once the outputs are in place.
    fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf>;
}

impl Sink for Path {
    fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.join(name);
        write_atomic(&path, bytes)?;
        Ok(path)
    }
}

/// A model's folder being written: its files go into a hidden sibling, which
/// [`Staging::commit`] swaps in. Dropped without a commit, the staging folder is removed.
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
}

impl Staging {
    pub fn new(target: &Path) -> std::io::Result<Staging> {
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)?;
        let dir = parent.join(temporary_name(target.file_name().unwrap_or_default(), STAGING));
        create_registered(&dir, true)?;
        Ok(Staging { target: target.to_path_buf(), dir })
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Replaces the target folder by the staged one (see the module's documentation).
    pub fn commit(self) -> std::io::Result<()> {
        let aside = self.target.with_file_name(temporary_name(self.target.file_name().unwrap_or_default(), OLD));
        let had_old = self.target.symlink_metadata().is_ok();
        settle(&self.dir, || {
            if had_old {
                std::fs::rename(&self.target, &aside)?;
            }
            test_pause();
            if let Err(e) = std::fs::rename(&self.dir, &self.target) {
                if had_old {
                    let _ = std::fs::rename(&aside, &self.target);
                }
                return Err(e);
            }
            if had_old {
                retire(&aside, &self.target);
            }
            Ok(())
        })
    }
}

impl Sink for Staging {
    fn put(&self, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
        // Created under the registry's lock, so a signal's cleanup never races a new file.
        let file = {
            let _temporaries = registry();
            File::create(self.dir.join(name))?
        };
        write_synced(file, bytes)?;
        test_pause();
        Ok(self.target.join(name))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = settle(&self.dir, || Err(std::io::Error::other("discarded")));
    }
}

/// Moves what a model folder carries over from the old folder `aside` into `target`, then
/// removes `aside`.
fn retire(aside: &Path, target: &Path) {
    for name in CARRIED_OVER {
        let (from, to) = (aside.join(name), target.join(name));
        if from.exists() && !to.exists() {
            let _ = std::fs::rename(from, to);
        }
    }
    let _ = std::fs::remove_dir_all(aside);
}

/// The base name of a temporary named `.BASE<mark>PID`.
fn temporary_base<'a>(name: &'a str, mark: &str) -> Option<&'a str> {
    let (base, pid) = name.strip_prefix('.')?.rsplit_once(mark)?;
    (!base.is_empty() && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit())).then_some(base)
}

/// Removes or restores what killed writers left in `dir` (an output folder, a model's
/// sweep folder or its points). Called only with the output folder's exclusive lock held,
/// so no live writer owns any of it.
fn clean_stale(dir: &Path, top: bool) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if temporary_base(&name, TMP).is_some() || temporary_base(&name, STAGING).is_some() {
            remove_path(&path);
        } else if let Some(model) = temporary_base(&name, OLD).filter(|_| top) {
            let target = dir.join(model);
            if target.symlink_metadata().is_err() {
                let _ = std::fs::rename(&path, &target);
            } else {
                retire(&path, &target);
            }
        } else if top && !name.starts_with('.') && path.is_dir() {
            let sweep = path.join("sweep");
            clean_stale(&sweep, false);
            clean_stale(&sweep.join("points"), false);
        }
    }
}

/// How a command holds an output folder: a run alone, sweeps side by side (the shares of
/// a job array write into one folder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    Exclusive,
    Shared,
}

/// Why an output folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{dir} is in use by another statesim{}; wait for it to finish or use another --out", .pid.map(|p| format!(" (PID {p})")).unwrap_or_default())]
    Busy { dir: String, pid: Option<i32> },
    #[error("cannot lock {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The lock on an output folder, held until dropped (or the process ends, however it ends).
pub struct OutLock {
    _file: File,
}

/// Locks the output folder `out` (created if needed) in `mode`. Whoever gets it
/// exclusively first removes the temporaries of killed writers and puts back a model folder
/// a killed swap left aside. An exclusive request never waits; a shared one (a share of a
/// sweep) waits up to [`SHARED_WAIT`] for another share's moment of cleaning to pass, so the
/// tasks of a job array may start together on one folder.
pub fn lock_out(out: &Path, mode: LockMode) -> Result<OutLock, LockError> {
    let started = std::time::Instant::now();
    loop {
        match try_lock_out(out, mode) {
            Err(LockError::Busy { .. }) if mode == LockMode::Shared && started.elapsed() < SHARED_WAIT => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            done => return done,
        }
    }
}

/// How long a shared lock request waits for an exclusive holder.
const SHARED_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

fn try_lock_out(out: &Path, mode: LockMode) -> Result<OutLock, LockError> {
    let path = out.join(LOCK_FILE);
    let io = |source| LockError::Io { path: path.display().to_string(), source };
    std::fs::create_dir_all(out).map_err(io)?;
    let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
    if record_lock(&file, LockMode::Exclusive).map_err(io)? {
        clean_stale(out, true);
        if let Some(ms) = std::env::var("STATESIM_TEST_CLEAN_PAUSE_MS").ok().and_then(|v| v.parse::<u64>().ok()) {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        if mode == LockMode::Exclusive || record_lock(&file, LockMode::Shared).map_err(io)? {
            return Ok(OutLock { _file: file });
        }
    } else if mode == LockMode::Shared && record_lock(&file, LockMode::Shared).map_err(io)? {
        return Ok(OutLock { _file: file });
    }
    Err(LockError::Busy { dir: out.display().to_string(), pid: lock_holder(&file) })
}

#[cfg(unix)]
fn flock_request(mode: LockMode) -> libc::flock {
    // SAFETY: `flock` is a plain C struct; all zeroes is a valid value.
    let mut request: libc::flock = unsafe { std::mem::zeroed() };
    request.l_type = match mode {
        LockMode::Exclusive => libc::F_WRLCK,
        LockMode::Shared => libc::F_RDLCK,
    } as libc::c_short;
    request.l_whence = libc::SEEK_SET as libc::c_short;
    request
}

/// Takes (or converts to) a whole-file record lock; false if another process holds a conflicting one.
#[cfg(unix)]
fn record_lock(file: &File, mode: LockMode) -> std::io::Result<bool> {
    use std::os::fd::AsRawFd;
    let request = flock_request(mode);
    // SAFETY: a valid descriptor and a valid `flock` for the call's duration.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &request) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EACCES | libc::EAGAIN) => Ok(false),
        _ => Err(e),
    }
}

/// The process holding a lock that conflicts with an exclusive one.
#[cfg(unix)]
fn lock_holder(file: &File) -> Option<i32> {
    use std::os::fd::AsRawFd;
    let mut request = flock_request(LockMode::Exclusive);
    // SAFETY: as in `record_lock`; F_GETLK writes the conflicting lock into `request`.
    let ok = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut request) } == 0;
    (ok && request.l_type != libc::F_UNLCK as libc::c_short).then_some(request.l_pid)
}

#[cfg(not(unix))]
fn record_lock(_file: &File, _mode: LockMode) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(not(unix))]
fn lock_holder(_file: &File) -> Option<i32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporaries_are_recognised_by_name() {
        assert_eq!(temporary_base(".crash-test.staging-123", STAGING), Some("crash-test"));
        assert_eq!(temporary_base(".index.html.tmp-9", TMP), Some("index.html"));
        assert_eq!(temporary_base(".a.b.old-42", OLD), Some("a.b"));
        assert_eq!(temporary_base("crash-test.staging-123", STAGING), None);
        assert_eq!(temporary_base(".x.tmp-12a", TMP), None);
        assert_eq!(temporary_base(".statesim.lock", TMP), None);
    }
}
