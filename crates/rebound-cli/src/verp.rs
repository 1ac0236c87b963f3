//! `rebound verp encode|decode`: signed VERP return paths, made and read with the
//! same secret as `rebound serve` (`--config`'s `secret`, `REBOUND_SECRET`, or
//! `<data>/secret.key`).

use anyhow::{Result, anyhow};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the VERP return path for each recipient, one per line.
    Encode {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        campaign: Option<String>,
        /// The bounce domain (its MX points at Rebound's SMTP receiver).
        #[arg(long)]
        domain: String,
        /// The local part before `+`.
        #[arg(long, default_value = "bounces")]
        prefix: String,
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(required = true)]
        recipients: Vec<String>,
    },
    /// Print what each VERP address names, as one JSON object per line.
    Decode {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(required = true)]
        addresses: Vec<String>,
    },
}

fn signer(config: Option<&Path>, data: &Path) -> Result<rebound_verp::Signer> {
    let c = crate::serve::config(config, data)?;
    let secret = rebound_server::load_secret(&c).map_err(|e| anyhow!(e))?;
    Ok(rebound_verp::Signer::new(&secret))
}

pub fn run(cmd: Command, data: &Path) -> Result<ExitCode> {
    match cmd {
        Command::Encode {
            tenant,
            campaign,
            domain,
            prefix,
            config,
            recipients,
        } => {
            let s = signer(config.as_deref(), data)?;
            for r in recipients {
                let t = rebound_verp::Target {
                    tenant: tenant.clone(),
                    campaign: campaign.clone(),
                    channel: "email".into(),
                    recipient: r.clone(),
                };
                println!(
                    "{}",
                    s.verp_address(&prefix, &domain, &t)
                        .map_err(|e| anyhow!("{r}: {e}"))?
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Decode { config, addresses } => {
            let s = signer(config.as_deref(), data)?;
            let mut failed = false;
            for a in addresses {
                match s.verp_decode(&a) {
                    Ok(t) => println!(
                        "{}",
                        serde_json::json!({"address": a, "tenant": t.tenant, "campaign": t.campaign, "recipient": t.recipient})
                    ),
                    Err(e) => {
                        failed = true;
                        eprintln!("rebound verp: {a}: {e}");
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}
