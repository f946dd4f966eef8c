//! `sextant`: a thin command line over Sextant's library crates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

#[derive(Parser)]
#[command(
    name = "sextant",
    version,
    about = "Plain-language, cited answers to questions about cancer."
)]
struct Cli {
    /// Data folder (holding corpus/cancergov-2025/ and eval/). Default: $SEXTANT_DATA, else ../shared/data next to the checkout.
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Knowledge-base folder. Default: $SEXTANT_KB, else $XDG_DATA_HOME/sextant/kb, else ~/.local/share/sextant/kb.
    #[arg(long, global = true, value_name = "DIR")]
    kb: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the knowledge base from the corpus (does nothing when the corpus is unchanged).
    Ingest {
        /// Rebuild even when the corpus is unchanged.
        #[arg(long)]
        force: bool,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Answer a question from the knowledge base, citing every sentence.
    Ask {
        /// The question, in plain words.
        question: String,
        /// Print Markdown.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        /// Print JSON (the shape is documented in the README).
        #[arg(long)]
        json: bool,
    },
    /// Measure retrieval and answer quality.
    Eval {
        #[command(subcommand)]
        suite: EvalSuite,
    },
    /// Measure speed: ingest time, warm and cold ask latency, peak memory.
    Bench {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Skip the full ingest timing (uses the existing knowledge base).
        #[arg(long)]
        skip_ingest: bool,
        /// Cold-start runs of `sextant ask`.
        #[arg(long, default_value_t = 5)]
        cold_runs: usize,
    },
}

#[derive(Subcommand)]
enum EvalSuite {
    /// MedQuAD CancerGov questions (eval/medquad/1_CancerGov_QA) against the 2025 corpus.
    Medquad {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Evaluate only the first N questions.
        #[arg(long)]
        limit: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest { force, quiet } => {
            commands::ingest(cli.data.as_deref(), cli.kb.as_deref(), force, quiet)
        }
        Command::Ask {
            question,
            markdown,
            json,
        } => commands::ask(cli.kb.as_deref(), &question, markdown, json),
        Command::Eval {
            suite: EvalSuite::Medquad { json, limit },
        } => commands::eval_medquad(cli.data.as_deref(), cli.kb.as_deref(), json, limit),
        Command::Bench {
            json,
            skip_ingest,
            cold_runs,
        } => commands::bench(
            cli.data.as_deref(),
            cli.kb.as_deref(),
            json,
            skip_ingest,
            cold_runs,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
