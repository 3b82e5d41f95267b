//! The `spikegpu` command (`src/cli/`), over the library's public API.

mod cli;

fn main() {
    // Both before any thread starts: changing the environment or a signal disposition later
    // would race with threads that read them (the GPU driver's, rayon's).
    #[cfg(unix)]
    {
        // Die quietly from SIGPIPE, as command-line tools do, when stdout is closed early
        // (`spikegpu validate net.json | head`); Rust ignores the signal and `println!` then panics.
        // SAFETY: restoring the default disposition of one signal, before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        cli::env::private_runtime_dir();
    }
    std::process::exit(cli::main());
}
