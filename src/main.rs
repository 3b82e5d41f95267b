//! The `spikegpu` command.

fn main() {
    std::process::exit(spikegpu::cli::main());
}
