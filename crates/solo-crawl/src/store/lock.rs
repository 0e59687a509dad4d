//! The state directory's lock: one crawl at a time.
//!
//! Owns: the advisory locks on the directory and on `state.lock` (with
//! the holder's pid, named when a second crawl is refused). Must not:
//! outlive the process (the kernel drops the locks, even on SIGKILL).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::LOCK;

/// Locks the state directory for this process (advisory locks the
/// kernel drops when the process ends, even on SIGKILL) and writes the
/// pid into the lock file; if another process holds it, says which.
///
/// Two locks: one on the directory itself, which no file operation
/// inside it can undo (an operator who deletes `state.lock` as a stale
/// pid file after a crash), and one on `state.lock`, which holds the pid
/// for the message and keeps out versions that lock only that file.
pub(super) fn lock(dir: &Path) -> Result<(File, File), String> {
    let dir_lock = File::open(dir)
        .map_err(|e| format!("cannot open the state directory {}: {e}", dir.display()))?;
    let in_use = |holder: String| {
        format!(
            "the state directory {} is in use by {holder}: wait for it to finish or stop it, or use another --state directory",
            dir.display()
        )
    };
    match fs4::FileExt::try_lock(&dir_lock) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            let pid = std::fs::read_to_string(dir.join(LOCK)).unwrap_or_default();
            return Err(in_use(holder_of(&pid)));
        }
        Err(fs4::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", dir.display()))
        }
    }
    let file = lock_file(dir)?;
    Ok((dir_lock, file))
}

/// Who holds the lock, from the pid a lock file holds.
fn holder_of(pid: &str) -> String {
    match pid.trim() {
        "" => "another solo-crawl".to_owned(),
        pid => format!("another solo-crawl (pid {pid})"),
    }
}

/// Locks `state.lock` and writes this process's pid into it.
fn lock_file(dir: &Path) -> Result<File, String> {
    let path = dir.join(LOCK);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open the lock file {}: {e}", path.display()))?;
    match fs4::FileExt::try_lock(&f) {
        Ok(()) => {}
        Err(fs4::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            let holder = holder_of(&holder);
            return Err(format!(
                "the state directory {} is in use by {holder}: wait for it to finish or stop it, or use another --state directory",
                dir.display()
            ));
        }
        Err(fs4::TryLockError::Error(e)) => {
            return Err(format!("cannot lock {}: {e}", path.display()))
        }
    }
    f.set_len(0)
        .and_then(|()| f.write_all_at(format!("{}\n", std::process::id()).as_bytes(), 0))
        .map_err(|e| format!("cannot write the lock file {}: {e}", path.display()))?;
    Ok(f)
}
