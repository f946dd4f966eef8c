//! `sextant`: a thin command line over Sextant's library crates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sextant_answer::Retriever;

mod commands;
mod llm;
mod review;
mod server;
mod trials;

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
    /// Models folder (holding all-MiniLM-L6-v2/, put there by scripts/fetch-models.sh). Default: $SEXTANT_MODELS, else $XDG_CACHE_HOME/sextant/models, else ~/.cache/sextant/models.
    #[arg(long, global = true, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Region whose emergency and crisis numbers answers give (US, CA, GB, IE, AU, NZ; or a tag such as en-GB). Default: $SEXTANT_LOCALE, else US.
    #[arg(long, global = true, value_name = "REGION")]
    locale: Option<String>,
    #[command(flatten)]
    llm: llm::LlmArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the server's database and master key are.
#[derive(clap::Args)]
struct ServerArgs {
    /// Database: sqlite://PATH or postgres://USER@HOST/DB. Default: $SEXTANT_DATABASE_URL, else sqlite in $XDG_DATA_HOME/sextant/sextant.db (~/.local/share/...).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Master key file. Default: $SEXTANT_KEY_FILE, else $XDG_CONFIG_HOME/sextant/master.key (~/.config/...). $SEXTANT_MASTER_KEY (base64) wins over any file.
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// Where the audit chain's head is written after every audited write, apart from the database. Default: $SEXTANT_AUDIT_HEAD, else audit.head beside the key file.
    #[arg(long, value_name = "FILE")]
    audit_head: Option<PathBuf>,
}

impl ServerArgs {
    fn paths(self) -> server::ServerPaths {
        server::ServerPaths {
            database_url: self.database_url,
            key_file: self.key_file,
            audit_head: self.audit_head,
        }
    }
}

#[derive(Subcommand)]
enum AuditAction {
    /// Walk the keyed hash chain: reports the first edited, deleted or reordered row, and whether the chain still reaches the head written outside the database.
    Verify {
        /// The head file to check against. Default: the server's (--audit-head).
        #[arg(long, value_name = "FILE")]
        head: Option<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
enum AccountAction {
    /// End an account's login lockout now (after too many failed logins), instead of waiting out the 15-minute window.
    Unlock {
        /// The account's email address.
        email: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Subcommand)]
enum LibraryAction {
    /// The review queue of shared answers: lists what waits (oldest first), or approves (publishes) and rejects (deletes) by slug.
    Review {
        /// Publish these pending answers.
        #[arg(long, value_name = "SLUG")]
        approve: Vec<String>,
        /// Delete these pending answers.
        #[arg(long, value_name = "SLUG")]
        reject: Vec<String>,
        /// Publish every pending answer (after reading the list).
        #[arg(long)]
        approve_all: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
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
        /// Retrieval: bm25 (keywords), dense (embeddings) or hybrid (both, fused).
        #[arg(long, default_value_t = Retriever::DEFAULT)]
        retriever: Retriever,
        /// Tailor the answer to a profile (`sextant profile --json` output) or to a record file.
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
        /// Print the answer as NDJSON events as it is made (the shape of the server's /api/ask/stream): with --llm, each sentence once it is verified.
        #[arg(long, conflicts_with_all = ["json", "markdown"])]
        stream: bool,
    },
    /// Read medical records (FHIR R4/mCODE JSON as a Bundle, a resource or NDJSON, gzipped or not; C-CDA XML; text reports) and print the patient profile, every fact with its source.
    Profile {
        /// Record files, or a profile saved with --json; their facts are merged, and disagreements shown.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Apply the person's corrections (a JSON patch: confirm, correct, remove or add facts).
        #[arg(long, value_name = "PATCH")]
        apply: Option<PathBuf>,
        /// Review the facts one by one (confirm, correct, remove) and add missing ones; prompts on stderr, the result on stdout.
        #[arg(long)]
        edit: bool,
        /// Print JSON (save it to use with `ask --profile` or to correct it later).
        #[arg(long)]
        json: bool,
    },
    /// Create the server's master key (kept apart from the database) and its database.
    Init {
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Run the web app and HTTP API (accounts and records need `sextant init` first).
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Session cookies without `Secure`: only for plain-HTTP localhost.
        #[arg(long)]
        insecure_cookies: bool,
        /// General questions only: no accounts, records or database (no key needed).
        #[arg(long)]
        anonymous_only: bool,
        /// A reverse proxy whose X-Forwarded-For names the client, for login and registration throttling (repeat for several); without it the header is ignored.
        #[arg(long, value_name = "IP")]
        trusted_proxy: Vec<std::net::IpAddr>,
        /// Retrieval: bm25, dense or hybrid.
        #[arg(long, default_value_t = Retriever::DEFAULT)]
        retriever: Retriever,
        /// General (not personal) answers kept in memory to serve again; 0 turns the cache off.
        #[arg(long, default_value_t = 4096)]
        answer_cache: usize,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Accounts: end a login lockout.
    Account {
        #[command(subcommand)]
        action: AccountAction,
    },
    /// The public answer library: review the answers people chose to share.
    Library {
        #[command(subcommand)]
        action: LibraryAction,
    },
    /// Copy the server's database while it serves (SQLite VACUUM INTO, or pg_dump). The master key is never in the copy: keep it apart.
    Backup {
        /// The new backup file (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Put a backup in place of the database (stop the server first), then drill: the audit chain must verify and every sealed row open with the master key, or the previous database is put back.
    Restore {
        /// The backup file written by `sextant backup`.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Check the audit log of record access.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Clinical trials: build the trial index, match a person's records against every criterion, fetch records from the registries.
    Trials {
        #[command(subcommand)]
        command: trials::TrialsCommand,
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
        /// Time the full ingest with an empty embedding cache (embeds every passage; about 35-40 minutes on 2 cores).
        #[arg(long, conflicts_with = "skip_ingest")]
        cold_cache: bool,
    },
}

#[derive(Subcommand)]
enum EvalSuite {
    /// MedQuAD CancerGov questions (eval/medquad/1_CancerGov_QA) against the 2025 corpus; with --llm, the language model's verified-sentence rate, fallback rate, token recall and latency.
    Medquad {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Evaluate only the first N questions.
        #[arg(long)]
        limit: Option<usize>,
        /// Retrieval: bm25, dense or hybrid.
        #[arg(long, default_value_t = Retriever::DEFAULT)]
        retriever: Retriever,
    },
    /// BM25, dense and hybrid retrieval side by side on MedQuAD, lay rewrites and LiveQA consumer questions.
    Retrieval {
        /// Print JSON (with every question's ranks).
        #[arg(long)]
        json: bool,
        /// Evaluate only the first N questions of each set.
        #[arg(long)]
        limit: Option<usize>,
        /// Retrievers to compare (comma-separated).
        #[arg(long, value_delimiter = ',', default_values_t = Retriever::ALL)]
        retrievers: Vec<Retriever>,
        /// A second knowledge base (for example one embedded at the other
        /// precision) measured in the same run, with the differences.
        #[arg(long, value_name = "DIR")]
        compare_kb: Option<PathBuf>,
    },
    /// Safety routing on the labeled sets in crates/eval/data (emergencies, controls, dosing, scope, ambiguity, unclear), then full answers from the knowledge base.
    Safety {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Routing only: no knowledge base needed.
        #[arg(long)]
        routing_only: bool,
        /// Labeled sets to use instead of the shipped ones (TSV: expect, category, question).
        #[arg(long, value_name = "TSV")]
        set: Vec<PathBuf>,
        /// Train and calibrate the learned layer on the shipped sets and
        /// write it to crates/safety/data/classifier.tsv (needs the model).
        #[arg(long)]
        train: bool,
    },
    /// Answers read as a person reads them: a set of real-style patient questions (crates/eval/data/answers-*.tsv) answered and written out for blind reviewers, with the automatic checks (bottom lines that are definitions, figures or fragments; sentences for another reader; dangling sentences; belief checks on belief questions and on true-premise controls) and, with --judgments, the reviewers' stored scores of the answers that have not changed.
    Answers {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The set: `dev` (answers-questions.tsv), `held-out`, `held-out-2` ... `held-out-5` (answers-heldout*.tsv) or a TSV file.
        #[arg(long, default_value = "dev")]
        set: String,
        /// Write the answers as reviewers read them (answers.txt) and as JSON lines (answers.jsonl) into this folder.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Stored judgments (TSV) to score the answers with; default: every file in crates/eval/data/answers-judgments/ for the set.
        #[arg(long, value_name = "TSV")]
        judgments: Vec<PathBuf>,
        /// Retrieval: bm25, dense or hybrid.
        #[arg(long, default_value_t = Retriever::DEFAULT)]
        retriever: Retriever,
        /// Instead of answering, write each question's candidate sentences for reviewers to mark: FILE (id, no, sentence) and FILE.txt to read.
        #[arg(long, value_name = "FILE")]
        candidates: Option<PathBuf>,
        /// Instead of answering, fit the sentence model on the set's stored marks (crates/eval/data/answers-sentences/SET-marks-*.tsv) and write crates/answer/data/sentence-model.tsv.
        #[arg(long)]
        fit_sentences: bool,
        /// Instead of answering, write each question's premises with the source sentences that may dispute them, for reviewers to mark: FILE (id, no, premise, sentence) and FILE.txt to read.
        #[arg(long, value_name = "FILE")]
        dispute_pairs: Option<PathBuf>,
        /// Instead of answering, measure the belief check against every set's stored dispute marks (crates/eval/data/answers-disputes/), beside a logistic regression over the pairs' features on questions it was not fitted on.
        #[arg(long)]
        disputes: bool,
    },
    /// Records extraction: field-level F1 on the expected mCODE profiles, the mCODE fixtures, FHIR parsing speed on Synthea's bundles, TCGA pathology-report agreement with silver labels and text reports per second.
    Records {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Trial matching on NIH-TrialBench's 41 NCI vignettes against the clinicians' labels: NDCG@10, P@5, target-trial rank, likely-excluded accuracy, with a BM25-only baseline.
    Trials {
        /// Print JSON (with every patient and labelled pair).
        #[arg(long)]
        json: bool,
    },
    /// The LLM-answer verifier on the adversarial set (crates/eval/data/llm-adversarial.json): injected instructions, invented numbers, drugs, stages and doses it must block.
    Adversarial {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Calibrates the no-evidence threshold: answer rate on covered questions (MedQuAD, lay rewrites) against abstention on questions the corpus does not cover (LiveQA non-cancer).
    Abstention {
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Evaluate only the first N questions of each set.
        #[arg(long)]
        limit: Option<usize>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ingest embeds one batch per core; candle splitting each operation
    // across the same cores as well only adds contention (ARCHITECTURE.md).
    // A single question is better served by candle's own threading, so only
    // ingest turns it off. Set before any thread exists, so no one reads the
    // environment meanwhile.
    // Candle's default counts physical cores, which on 2-vCPU machines is
    // one; a question embeds 15% faster on both.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let threads = if matches!(cli.command, Command::Ingest { .. }) {
            1
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        std::env::set_var("RAYON_NUM_THREADS", threads.to_string());
    }
    let models = cli.models.as_deref();
    let result = match cli.command {
        Command::Ingest { force, quiet } => {
            commands::ingest(cli.data.as_deref(), cli.kb.as_deref(), models, force, quiet)
        }
        Command::Ask {
            question,
            markdown,
            json,
            retriever,
            profile,
            stream,
        } => commands::ask(
            &commands::Paths {
                data: cli.data.as_deref(),
                kb: cli.kb.as_deref(),
                models,
            },
            cli.locale.as_deref(),
            profile.as_deref(),
            retriever,
            &question,
            if stream {
                commands::Output::Stream
            } else if json {
                commands::Output::Json
            } else if markdown {
                commands::Output::Markdown
            } else {
                commands::Output::Text
            },
            &cli.llm,
        ),
        Command::Eval {
            suite:
                EvalSuite::Medquad {
                    json,
                    limit,
                    retriever,
                },
        } => commands::eval_medquad(
            cli.data.as_deref(),
            cli.kb.as_deref(),
            models,
            retriever,
            json,
            limit,
            &cli.llm,
        ),
        Command::Eval {
            suite: EvalSuite::Adversarial { json },
        } => commands::eval_adversarial(cli.kb.as_deref(), models, json),
        Command::Eval {
            suite:
                EvalSuite::Retrieval {
                    json,
                    limit,
                    retrievers,
                    compare_kb,
                },
        } => commands::eval_retrieval(
            cli.data.as_deref(),
            cli.kb.as_deref(),
            compare_kb.as_deref(),
            models,
            &retrievers,
            json,
            limit,
        ),
        Command::Eval {
            suite:
                EvalSuite::Safety {
                    json,
                    routing_only,
                    set,
                    train,
                },
        } => commands::eval_safety(
            cli.data.as_deref(),
            cli.kb.as_deref(),
            models,
            json,
            routing_only,
            &set,
            train,
        ),
        Command::Trials { command } => {
            trials::run(command, cli.data.as_deref(), cli.kb.as_deref(), models)
        }
        Command::Eval {
            suite:
                EvalSuite::Answers {
                    json,
                    set,
                    out,
                    judgments,
                    retriever,
                    candidates,
                    fit_sentences,
                    dispute_pairs,
                    disputes,
                },
        } => match (candidates, fit_sentences, dispute_pairs, disputes) {
            (Some(file), ..) => {
                commands::answer_candidates(cli.kb.as_deref(), models, &set, &file, retriever)
            }
            (None, true, ..) => commands::fit_sentences(cli.kb.as_deref(), models, &set, retriever),
            (None, false, Some(file), _) => {
                commands::dispute_pairs(cli.kb.as_deref(), models, &set, &file, retriever)
            }
            (None, false, None, true) => {
                commands::eval_disputes(cli.kb.as_deref(), models, retriever)
            }
            (None, false, None, false) => commands::eval_answers(
                cli.kb.as_deref(),
                models,
                &set,
                out.as_deref(),
                &judgments,
                retriever,
                json,
            ),
        },
        Command::Eval {
            suite: EvalSuite::Trials { json },
        } => trials::eval(cli.data.as_deref(), models, json),
        Command::Eval {
            suite: EvalSuite::Records { json },
        } => commands::eval_records(cli.data.as_deref(), json),
        Command::Eval {
            suite: EvalSuite::Abstention { json, limit },
        } => commands::eval_abstention(cli.data.as_deref(), cli.kb.as_deref(), models, json, limit),
        Command::Profile {
            files,
            apply,
            edit,
            json,
        } => commands::profile(&files, apply.as_deref(), edit, json),
        Command::Init { server } => server::init(&server.paths()),
        Command::Audit {
            action: AuditAction::Verify { head, server },
        } => server::audit_verify(&server.paths(), head.as_deref()),
        Command::Backup { to, server } => server::backup(&server.paths(), &to),
        Command::Restore { from, server } => server::restore(&server.paths(), &from),
        Command::Library {
            action:
                LibraryAction::Review {
                    approve,
                    reject,
                    approve_all,
                    server,
                },
        } => server::library_review(&server.paths(), &approve, &reject, approve_all),
        Command::Account {
            action: AccountAction::Unlock { email, server },
        } => server::account_unlock(&server.paths(), &email),
        Command::Serve {
            addr,
            insecure_cookies,
            anonymous_only,
            trusted_proxy,
            retriever,
            answer_cache,
            server,
        } => commands::serving_engine(
            &commands::Paths {
                data: cli.data.as_deref(),
                kb: cli.kb.as_deref(),
                models,
            },
            cli.locale.as_deref(),
            retriever,
        )
        .and_then(|engine| {
            server::serve(
                engine,
                &server.paths(),
                &server::ServeOptions {
                    addr,
                    insecure_cookies,
                    anonymous_only,
                    trusted_proxies: trusted_proxy.clone(),
                    retriever,
                    answer_cache,
                    llm: cli.llm.backend()?.map(|backend| sextant_server::Llm {
                        backend,
                        options: cli.llm.options(),
                    }),
                },
            )
        }),
        Command::Bench {
            json,
            skip_ingest,
            cold_runs,
            cold_cache,
        } => commands::bench(
            cli.data.as_deref(),
            cli.kb.as_deref(),
            models,
            json,
            skip_ingest,
            cold_runs,
            cold_cache,
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
