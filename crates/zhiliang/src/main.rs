//! The zhiliang binary: thin wiring of subcommands.
mod cmd;

fn main() {
    println!("zhiliang");
}
