//! SIGINT, SIGTERM and SIGHUP: a run stops cleanly at the next chunk boundary.
//!
//! During set-up (reading the file, building the connectivity, opening the engine) nothing of
//! the run is on disk yet, so a signal ends the process at once, with one line and the usual
//! status (128 + the signal number). Once outputs are being written the handler only records
//! the signal; the run's sink sees it after the chunk it is writing ([`check`]), the error
//! unwinds, the temporary folder is removed, and `main` prints what was done and exits with
//! 128 + the signal. A second signal while that happens ends the process at once; the
//! temporary folder it leaves is recognised and removed by the next run into the same place.

use spikegpu::{Error, Result};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Whether a run is writing outputs (then a signal is handled at the next chunk boundary).
static RUNNING: AtomicBool = AtomicBool::new(false);

const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// The name of a signal spikegpu handles.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Only async-signal-safe calls here: atomics, write(2), _exit(2).
extern "C" fn handler(sig: libc::c_int) {
    let first = RECEIVED.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst).is_ok();
    if first && RUNNING.load(Ordering::SeqCst) {
        let msg: &[u8] = b"spikegpu: stopping at the end of this chunk (a second signal stops at once)\n";
        // SAFETY: write(2) is async-signal-safe; the buffer is static.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
        }
        return;
    }
    let msg: &[u8] = match (first, sig) {
        (true, libc::SIGINT) => b"spikegpu: interrupted by SIGINT during set-up; nothing was written\n",
        (true, libc::SIGTERM) => b"spikegpu: interrupted by SIGTERM during set-up; nothing was written\n",
        (true, _) => b"spikegpu: interrupted by SIGHUP during set-up; nothing was written\n",
        (false, _) => b"spikegpu: second signal, stopping now; the next run into the same folder removes what is left\n",
    };
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(128 + sig);
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (set-up mode: a signal exits at once).
pub fn install() {
    for sig in SIGNALS {
        // SAFETY: a zeroed sigaction with a plain handler and an empty mask is valid; the handler
        // only uses async-signal-safe calls. SA_RESTART keeps interrupted reads and writes going.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// From now on a signal is handled at the next chunk boundary (outputs are being written).
/// A signal that came during set-up but after the handler's check is seen by the next [`check`].
pub fn running() {
    RUNNING.store(true, Ordering::SeqCst);
}

/// The signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// `Err(Interrupted)` once a signal has come: called at each chunk boundary.
pub fn check() -> Result<()> {
    match received() {
        None => Ok(()),
        Some(s) => Err(Error::Interrupted(name(s).to_string())),
    }
}
