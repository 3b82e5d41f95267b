//! The `spikegpu` command (`src/cli/`), over the library's public API.

mod cli;

fn main() {
    // Die quietly from SIGPIPE, as command-line tools do, when stdout is closed early
    // (`spikegpu validate net.json | head`); Rust ignores the signal and `println!` then panics.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of one signal, before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    std::process::exit(cli::main());
}
