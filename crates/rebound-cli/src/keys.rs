//! `rebound keys create --tenant T`: mints an API key for the HTTP API and prints
//! it once; the store keeps only its hash.

use anyhow::Result;
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an API key for a tenant; it is printed once and cannot be shown again.
    Create {
        #[arg(long)]
        tenant: String,
        /// What the key is for (recorded with it).
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

pub fn run(cmd: Command, data: &Path) -> Result<ExitCode> {
    match cmd {
        Command::Create { tenant, label } => {
            let mut store = crate::store::open(data)?;
            let key = rebound_server::auth::create_key(
                &mut *store,
                &tenant,
                &label,
                rebound_pipeline::now(),
            )?;
            eprintln!(
                "rebound keys: created a key for tenant {tenant}; send it as `Authorization: Bearer <key>`"
            );
            println!("{key}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
