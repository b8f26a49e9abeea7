//! `zhiliang key create|revoke`: API keys. The secret is printed once, as the last line.

use clap::{Args, Subcommand};
use store::{OrgId, Role};
use zhiliang_http::{keys, system_clock_ms};

use crate::storeargs::StoreArgs;

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Create a key; its secret is the last line of the output.
    Create(CreateArgs),
    /// Revoke a key by its id (`key_…`).
    Revoke(RevokeArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The organisation the key acts for (a GLN, a Unified Social Credit Code or a short name).
    #[arg(long)]
    pub org: String,
    /// enterprise (sees its own events), regulator (sees all), admin, public.
    #[arg(long)]
    pub role: String,
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The key id printed by `key create`.
    #[arg(long)]
    pub id: String,
}

impl KeyCommand {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            KeyCommand::Create(a) => {
                let org = OrgId::parse(&a.org).map_err(anyhow::Error::msg)?;
                let role = Role::parse(&a.role).map_err(anyhow::Error::msg)?;
                let store = a.store.open()?;
                let (key, secret) = keys::create_key(
                    store.as_ref(),
                    org,
                    role,
                    system_clock_ms(),
                    keys::os_random(),
                )?;
                println!(
                    "created key {} (org {}, role {}); the secret below is shown only once:",
                    key.key_id,
                    key.org,
                    role.as_str()
                );
                println!("{}", secret.expose());
                Ok(())
            }
            KeyCommand::Revoke(a) => {
                let store = a.store.open()?;
                if store.revoke_key(&a.id)? {
                    println!("revoked {}", a.id);
                    Ok(())
                } else {
                    anyhow::bail!("no key with id {}", a.id)
                }
            }
        }
    }
}
