//! warcio (PyPI), the WARC reader the tests check our files with, from
//! the venv `.ci/run` creates (`target/warcio-venv`, or `$WARCIO_VENV`).

use std::path::{Path, PathBuf};

/// The venv's `bin` directory, or `None` (outside CI) when it is missing.
pub fn warcio() -> Option<PathBuf> {
    let venv = std::env::var_os("WARCIO_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/warcio-venv"),
        PathBuf::from,
    );
    let bin = venv.join("bin");
    if bin.join("warcio").exists() {
        return Some(bin);
    }
    let msg = format!(
        "warcio is not installed in {} (bash .ci/run creates it: python3 -m venv {0} && \
         {0}/bin/pip install -r crates/solo-crawl/tests/warcio/requirements.txt)",
        venv.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}
