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

/// `rebound unblock-domain`.
#[derive(clap::Args)]
pub struct DomainArgs {
    #[arg(long)]
    tenant: String,
    /// Who is doing this (recorded in the domain's history).
    #[arg(long)]
    by: String,
    /// The domain confirmed non-existent by mistake.
    #[arg(long)]
    domain: String,
    /// Record the action as of this RFC 3339 time instead of now.
    #[arg(long)]
    at: Option<String>,
    /// Also unblock the addresses at the domain whose block came from the domain's
    /// failure (a bad-domain or null-MX bounce), not from bounces of their own.
    #[arg(long)]
    with_addresses: bool,
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

/// Undoes a confirmed non-existent domain (SPEC §3: "stays ... until someone
/// removes the block (recorded: who, when)"). The action is an event in the domain's
/// own history, the address `@domain`, so the domain's fold replays it: evidence
/// before it no longer counts, and the domain is suppressed again only on new
/// lasting evidence. Refused (nothing recorded) when the domain is not suppressed.
pub fn unblock_domain(args: DomainArgs, data: &Path) -> Result<ExitCode> {
    if args.by.trim().is_empty() {
        bail!("say who is doing this with --by");
    }
    let domain = rebound_address::normalize_email(&format!("postmaster@{}", args.domain.trim()))
        .ok()
        .and_then(|a| a.rsplit_once('@').map(|(_, d)| d.to_string()))
        .ok_or_else(|| anyhow::anyhow!("{:?} is not a domain", args.domain))?;
    let mut store = crate::store::open(data)?;
    let t = tenant(&mut *store, &args.tenant)?;
    let at = at_or_now(args.at.as_deref())?;
    let suppressed = store
        .domain_state(&t.name, &domain)?
        .and_then(|d| d.nonexistent_since);
    if suppressed.is_none() {
        eprintln!(
            "rebound unblock-domain: {domain} is not confirmed non-existent for {}: nothing to undo",
            t.name
        );
        return Ok(ExitCode::from(1));
    }
    // Addresses blocked by the domain's failure rather than by bounces of their own.
    let mut caused = Vec::new();
    for (address, state) in store.marked(&t.name, Channel::Email)? {
        let Some(blocked_at) = state.blocked_at else {
            continue;
        };
        if address.rsplit_once('@').map(|(_, d)| d) != Some(domain.as_str()) {
            continue;
        }
        let history = store.history(&t.name, Channel::Email, &address)?;
        let by_domain = history.iter().any(|h| {
            h.record.at == blocked_at
                && matches!(h.record.event, Event::Bounce { .. })
                && rebound_policy::DomainEvidence::of(&h.record.event, h.record.reason)
                    .is_some_and(|e| e != rebound_policy::DomainEvidence::Delivered)
        });
        if by_domain {
            caused.push(address);
        }
    }
    // In address order, whatever order the store reads them in.
    caused.sort();
    let cli = |address: String, event: Event| Record {
        tenant: t.name.clone(),
        channel: Channel::Email,
        address,
        at,
        event,
        reason: None,
        campaign: None,
        detail: Detail {
            source: Some("cli".into()),
            ..Detail::default()
        },
    };
    let mut records = vec![cli(
        format!("@{domain}"),
        Event::UnblockDomain {
            by: args.by.clone(),
        },
    )];
    if args.with_addresses {
        for a in &caused {
            records.push(cli(
                a.clone(),
                Event::Unblock {
                    by: args.by.clone(),
                },
            ));
        }
    }
    for res in store.append(&records)? {
        if let Appended::Refused(why) = res {
            bail!("unblock-domain refused: {why}");
        }
    }
    println!("unblock-domain {domain} of {} by {}", t.name, args.by);
    if args.with_addresses {
        for a in &caused {
            println!("unblock {a} by {}", args.by);
        }
    } else if !caused.is_empty() {
        eprintln!(
            "rebound unblock-domain: {} address{} at {domain} stay blocked by the domain's bounces ({}); --with-addresses unblocks them too",
            caused.len(),
            if caused.len() == 1 { "" } else { "es" },
            caused.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
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
