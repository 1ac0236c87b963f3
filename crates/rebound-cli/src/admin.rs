//! Admin actions (SPEC §8): unblock, opt-out, opt-in with consent, stopping a
//! campaign, restricting a tenant, and creating tenants. Each is recorded with who
//! did it and when: address actions in the address's history, tenant and campaign
//! actions on the tenant or campaign and in the audit table.

use crate::store::{ChannelArg, at_or_now, normalize, tenant};
use anyhow::{Result, bail};
use rebound_policy::Event;
use rebound_store::{Appended, Channel, Detail, Record, Tenant};
use std::path::Path;
use std::process::ExitCode;

/// Who acts, on what, and when: shared by every address action.
#[derive(clap::Args)]
pub struct AddressArgs {
    #[arg(long)]
    tenant: String,
    /// Who is doing this (recorded in the history).
    #[arg(long)]
    by: String,
    #[arg(long, value_enum, default_value = "email")]
    channel: ChannelArg,
    /// Record the action as of this RFC 3339 time instead of now.
    #[arg(long)]
    at: Option<String>,
    /// The addresses to act on.
    #[arg(required = true)]
    recipients: Vec<String>,
}

#[derive(clap::Args)]
pub struct OptInArgs {
    #[command(flatten)]
    pub target: AddressArgs,
    /// The consent evidence (what the recipient agreed to, where, when). Required.
    #[arg(long)]
    pub consent: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum CampaignCommand {
    /// Stop a campaign midway: its remaining recipients are skipped (campaign_stopped).
    Stop {
        campaign: String,
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum TenantCommand {
    /// Create a tenant (ingest and gate refuse unknown tenants).
    Create {
        #[arg(long)]
        tenant: String,
        /// Default country (ISO 3166 alpha-2) for national SMS numbers.
        #[arg(long)]
        country: Option<String>,
        /// Policy overrides as a JSON object, e.g. '{"frequency_cap": 3}'.
        #[arg(long, default_value = "{}")]
        policy: String,
    },
    /// Replace a tenant's policy overrides; stored states are refolded under them.
    Policy {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        policy: String,
    },
    /// Suspend a tenant: all its sends are skipped (sender_restricted) until lifted.
    Restrict {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        at: Option<String>,
    },
    /// Lift a tenant's suspension.
    Unrestrict {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        by: String,
        #[arg(long)]
        at: Option<String>,
    },
}

/// Which address action.
pub enum Action {
    Unblock,
    OptOut,
    OptIn(Option<String>),
}

pub fn address_action(args: AddressArgs, action: Action, data: &Path) -> Result<ExitCode> {
    if args.by.trim().is_empty() {
        bail!("say who is doing this with --by");
    }
    let (name, event) = match action {
        Action::Unblock => (
            "unblock",
            Event::Unblock {
                by: args.by.clone(),
            },
        ),
        Action::OptOut => (
            "opt-out",
            Event::OptOut {
                by: args.by.clone(),
            },
        ),
        Action::OptIn(consent) => match consent {
            Some(c) if !c.trim().is_empty() => (
                "opt-in",
                Event::OptIn {
                    by: args.by.clone(),
                    consent: c,
                },
            ),
            _ => bail!("opt-in refused: consent evidence is required (--consent TEXT)"),
        },
    };
    let mut store = crate::store::open(data)?;
    let t = tenant(&mut *store, &args.tenant)?;
    let at = at_or_now(args.at.as_deref())?;
    let channel = Channel::from(args.channel);
    let mut records = Vec::new();
    for r in &args.recipients {
        let address = normalize(channel, r, &t).map_err(anyhow::Error::msg)?;
        records.push(Record {
            tenant: t.name.clone(),
            channel,
            address,
            at,
            event: event.clone(),
            reason: None,
            campaign: None,
            detail: Detail {
                source: Some("cli".into()),
                ..Detail::default()
            },
        });
    }
    let results = store.append(&records)?;
    let mut refused = false;
    for (r, res) in records.iter().zip(results) {
        match res {
            Appended::Refused(why) => {
                refused = true;
                eprintln!("rebound {name}: {}: {why}", r.address);
            }
            _ => println!("{name} {} by {}", r.address, args.by),
        }
    }
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn campaign(cmd: CampaignCommand, data: &Path) -> Result<ExitCode> {
    match cmd {
        CampaignCommand::Stop {
            campaign,
            tenant,
            by,
            at,
        } => {
            let at = at_or_now(at.as_deref())?;
            crate::store::open(data)?.stop_campaign(&tenant, &campaign, &by, at)?;
            println!("stopped campaign {campaign} of {tenant} by {by}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn tenant_cmd(cmd: TenantCommand, data: &Path) -> Result<ExitCode> {
    let mut store = crate::store::open(data)?;
    match cmd {
        TenantCommand::Create {
            tenant,
            country,
            policy,
        } => {
            if let Some(c) = &country
                && rebound_address::normalize_phone("0123456789", Some(c)).is_err()
                && rebound_address::normalize_phone("123456789", Some(c)).is_err()
            {
                bail!("unknown country {c:?} (ISO 3166 alpha-2, e.g. GB)");
            }
            let policy_parsed = Tenant::parse_policy(&policy).map_err(anyhow::Error::msg)?;
            store.create_tenant(&Tenant {
                name: tenant.clone(),
                default_country: country.map(|c| c.to_ascii_uppercase()),
                policy_overrides: policy,
                policy: policy_parsed,
                restricted: None,
            })?;
            println!("created tenant {tenant}");
        }
        TenantCommand::Policy { tenant, policy } => {
            store.set_policy(&tenant, &policy)?;
            println!("set the policy of {tenant}");
        }
        TenantCommand::Restrict { tenant, by, at } => {
            store.set_restricted(&tenant, true, &by, at_or_now(at.as_deref())?)?;
            println!("restricted {tenant} by {by}");
        }
        TenantCommand::Unrestrict { tenant, by, at } => {
            store.set_restricted(&tenant, false, &by, at_or_now(at.as_deref())?)?;
            println!("lifted the restriction of {tenant} by {by}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
