//! The process environment the GPU driver sees.

use std::ffi::OsStr;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mesa's Vulkan driver (its window-system layer, through libwayland) prints `error:
/// XDG_RUNTIME_DIR is invalid or not set in the environment.` on every device open when that
/// variable is unset or not an absolute path. spikegpu computes and needs no display, but the
/// line reads like a spikegpu error; so when the variable is unusable it is pointed at a private
/// folder (`$TMPDIR/spikegpu-runtime-<uid>`, mode 0700, owned by this user) before any thread
/// starts. A usable value is left alone. Nothing is printed: the folder stays empty.
pub fn private_runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|v| usable(Path::new(&v))) {
        return;
    }
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let fixed = std::env::temp_dir().join(format!("spikegpu-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&fixed);
    let dir = if private(&fixed, uid) { Some(fixed) } else { fresh() };
    if let Some(d) = dir {
        // edition 2021: set_var is safe; main calls this before any thread exists
        std::env::set_var("XDG_RUNTIME_DIR", d);
    }
}

/// What libwayland and the XDG spec ask: an absolute path to a folder of this user, not open
/// to others.
fn usable(p: &Path) -> bool {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    p.is_absolute() && std::fs::metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o077 == 0)
}

/// A real folder (not a link someone else planted) of this user with mode 0700.
fn private(p: &Path, uid: u32) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == uid && m.permissions().mode() & 0o777 == 0o700)
}

/// A new private folder from mkdtemp, when the fixed one is taken by someone else.
fn fresh() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let template = std::env::temp_dir().join("spikegpu-runtime-XXXXXX");
    let mut bytes = template.as_os_str().as_bytes().to_vec();
    bytes.push(0);
    // SAFETY: a NUL-terminated, writable template ending in XXXXXX, as mkdtemp requires.
    let p = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if p.is_null() {
        return None;
    }
    bytes.pop();
    Some(PathBuf::from(OsStr::from_bytes(&bytes)))
}
