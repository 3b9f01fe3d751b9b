fn main() -> std::process::ExitCode {
    cms::cli::main()
}
