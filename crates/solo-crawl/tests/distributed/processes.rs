//! The processes `--workers N` starts: their files named from the exact
//! bytes of `--output`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::harness::{redis_available, wait, Redis, Site, TempDir, BIN};
use super::{assert_all_pages, shared, LIMIT};

/// `--output` with a byte that is not UTF-8: each worker's file is that
/// name with its number (it was U+FFFD in place of the byte).
#[test]
fn workers_n_name_their_files_from_the_bytes_of_output() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 10, Duration::from_millis(5));
    let redis = Redis::start();
    let dir = TempDir::new("bytes");
    let mut args = shared(
        &site,
        &redis,
        "bytes",
        &dir.path("unused"),
        &["--workers=2"],
    );
    args.retain(|a| !a.starts_with("--output="));
    let child = Command::new(BIN)
        .args(&args)
        .arg("--output")
        .arg(dir.0.join(OsStr::from_bytes(b"\xffw.jsonl")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let (code, err) = wait(child, LIMIT);
    assert_eq!(code, Some(0), "{err}");
    let outs: Vec<_> = (0..2)
        .map(|i| {
            dir.0.join(OsStr::from_bytes(
                &[b"\xffw.", i.to_string().as_bytes(), b".jsonl"].concat(),
            ))
        })
        .collect();
    assert!(
        outs.iter().all(|o| o.exists()),
        "{:?}",
        std::fs::read_dir(&dir.0).map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
    );
    assert_all_pages(&site, &outs);
}
