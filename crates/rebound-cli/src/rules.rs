//! `rebound rules`: check a user's rule file before trusting it.

use crate::classify::RuleFiles;
use anyhow::{Context, Result};
use clap::Subcommand;
use rebound_classify::{Classifier, Scratch, reply::Reply, ruleset};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum Command {
    /// Validate rule files: syntax, vocabulary, regexes, ids, and that every example is decided by its own rule.
    Check {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print every example reply of the rules in force, one per line (a realistic mix for benchmarks).
    Examples {
        #[command(flatten)]
        rules: RuleFiles,
    },
    /// Print the vocabulary (categories, reasons, scopes) as Markdown: docs/vocabulary.md.
    Vocabulary,
    /// List the rules in force (user files first), one per line.
    List {
        #[command(flatten)]
        rules: RuleFiles,
    },
}

pub fn run(cmd: Command) -> Result<ExitCode> {
    match cmd {
        Command::Check { files } => check(&files),
        Command::Examples { rules } => {
            let c = crate::classify::load_classifier(&rules.rules)?;
            for r in c.rules() {
                for ex in &r.examples {
                    println!("{}", ex.replace(['\n', '\r'], " "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Vocabulary => {
            print!(
                "{}",
                crate::vocabulary::markdown(rebound_classify::Classifier::builtin())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::List { rules } => {
            let c = crate::classify::load_classifier(&rules.rules)?;
            for r in c.rules() {
                println!(
                    "{}\t{}\t{}\t{}",
                    r.id, r.conclusion.reason, r.conclusion.scope, r.origin
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn check(files: &[PathBuf]) -> Result<ExitCode> {
    let mut problems = 0usize;
    for path in files {
        let name = path.display().to_string();
        let src = std::fs::read_to_string(path).with_context(|| format!("reading {name}"))?;
        let parsed = match ruleset::parse_rule_file(&name, &src) {
            Ok(f) => f,
            Err(errors) => {
                for e in &errors {
                    println!("{e}");
                }
                problems += errors.len();
                continue;
            }
        };
        let classifier = match Classifier::new(&[(name.as_str(), src.as_str())]) {
            Ok(c) => c,
            Err(errors) => {
                for e in &errors {
                    println!("{e}");
                }
                problems += errors.len();
                continue;
            }
        };
        let mut scratch = Scratch::default();
        for rule in &parsed.rules {
            for ex in &rule.examples {
                let v = classifier.classify(&Reply::parse(ex), &mut scratch);
                if v.evidence.rule != rule.id {
                    problems += 1;
                    println!(
                        "{}: example of rule {:?} is decided by {:?} instead: {:?}",
                        rule.origin, rule.id, v.evidence.rule, ex
                    );
                }
            }
        }
        println!(
            "{name}: {} rules, {} status codes, {} reply codes",
            parsed.rules.len(),
            parsed.status.len(),
            parsed.reply.len()
        );
    }
    if problems == 0 {
        println!("ok");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{problems} problem(s)");
        Ok(ExitCode::FAILURE)
    }
}
