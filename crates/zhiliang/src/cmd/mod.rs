//! One module per subcommand family. Each exposes clap `Args` structs with
//! `fn run(self) -> anyhow::Result<()>`; `main.rs` only wires them.
