fn main() -> std::process::ExitCode {
    authrim_runner::cli::main()
}
