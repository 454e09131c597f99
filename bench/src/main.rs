//! `bench run [OPTIONS]`: the echo-server benchmark (see `bench run --help`, or
//! scripts/bench, which builds everything first); `bench serve-tokio`: the tokio reference
//! server it starts.

fn main() -> std::process::ExitCode {
    bench::main()
}
