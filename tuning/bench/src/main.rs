//! `tessera-bench`: see the library's documentation and `docs/bench.md`.

fn main() -> std::process::ExitCode {
    tessera_bench::cli::main()
}
