//! The `callcsv` command: `serve` (the default) runs the API; `migrate` applies database
//! migrations; `admin create` makes a platform administrator; `run-due --once` is one
//! runner pass. Every command reads its configuration from `CALLCSV_*` variables, listed
//! in `--help` from the one table in `config.rs`.

use std::io::BufRead;
use std::net::TcpListener;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use callcsv::config::{Config, LogFormat};
use callcsv::{db, server};

#[derive(Parser)]
#[command(
    name = "callcsv",
    version,
    about = "Rated call CSV reports for VoIP operators: a REST API, a call rater and a \
             scheduler of call CSV reports, in one binary (`callcsv` alone runs `serve`)"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the scheduler runner until SIGTERM/Ctrl-C (applies migrations first)
    #[command(after_help = "Reads every CALLCSV_* variable (see `callcsv --help`).")]
    Serve,
    /// Apply pending database migrations and exit
    #[command(
        after_help = "Reads CALLCSV_DATA_DIR, CALLCSV_DATABASE_URL, CALLCSV_LOG, CALLCSV_LOG_FORMAT (see `callcsv --help`)."
    )]
    Migrate,
    /// One runner pass: record due scheduler runs, build their reports, send their emails,
    /// then exit
    ///
    /// For running from cron with CALLCSV_RUNNER_INTERVAL=0 instead of the runner built
    /// into `serve`.
    #[command(
        after_help = "Reads CALLCSV_DATA_DIR, CALLCSV_DATABASE_URL, CALLCSV_SMTP_URL, \
        CALLCSV_MAIL_FROM, CALLCSV_MAIL_GZIP_ABOVE, CALLCSV_MAIL_RETRY_SECONDS, \
        CALLCSV_MAIL_BACKOFF_SECONDS, CALLCSV_REPORT_LEASE_SECONDS, CALLCSV_MAX_CATCH_UP, \
        CALLCSV_BOOTSTRAP_ADMIN, CALLCSV_BOOTSTRAP_PASSWORD, CALLCSV_LOG, CALLCSV_LOG_FORMAT (see `callcsv --help`)."
    )]
    RunDue {
        /// Required: one pass, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Load a demo tenant (brand, clients, carriers, plans, 50 000 calls, due schedulers)
    ///
    /// Everything is created through the service's own operations and call ingestion, from
    /// a fixed seed: every run makes the same tenant. Refuses when the brand exists.
    #[command(
        after_help = "Reads CALLCSV_DATA_DIR, CALLCSV_DATABASE_URL, CALLCSV_BIND (for the \
        URL it prints), CALLCSV_JWT_SECRET, CALLCSV_LOG, CALLCSV_LOG_FORMAT (see `callcsv --help`)."
    )]
    Demo {
        /// The brand's name.
        #[arg(long, default_value = "Demo")]
        brand: String,
        /// The platform administrator's password (default: a generated one, printed once).
        #[arg(long)]
        password: Option<String>,
        /// The platform administrator to log in with (kept as is when it exists).
        #[arg(long, default_value = "admin")]
        admin: String,
        /// How many calls (for tests and benchmarks).
        #[arg(long, default_value_t = 50_000, hide = true)]
        calls: usize,
    },
    /// Import CDR files into a CDR source, straight into the database (no server needed)
    ///
    /// Each file (gzip or not) becomes an import of the source, as an upload would: a
    /// progress bar on a terminal, the import's counts and first errors after each file.
    /// Exit code 0 when every file was read to its end (rejected records are in the
    /// summary), 1 when one could not be.
    #[command(
        after_help = "Reads CALLCSV_DATA_DIR, CALLCSV_DATABASE_URL, CALLCSV_LOG, CALLCSV_LOG_FORMAT (see `callcsv --help`)."
    )]
    Import {
        /// The CDR source, by id or by name
        #[arg(long)]
        source: String,
        /// The brand's id, when several brands have a source of that name
        #[arg(long)]
        brand: Option<String>,
        /// The files to read
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
    },
    /// One evaluation of every enabled spend and quality alert rule, as the runner makes on
    /// each pass: records what fires (notified by the runner's outbox), prints how many
    /// rules, events and seconds
    ///
    /// With --at, evaluates as if it were that moment: the windows open then, the last
    /// closed ones before it (to see what the rules would have found on a past day).
    #[command(
        after_help = "Reads CALLCSV_DATA_DIR, CALLCSV_DATABASE_URL, CALLCSV_ALERT_GRACE_SECONDS, CALLCSV_LOG, CALLCSV_LOG_FORMAT (see `callcsv --help`)."
    )]
    EvaluateAlerts {
        /// An RFC 3339 time (2026-10-15T12:00:00Z); default: now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Manage administrators from the command line
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a platform administrator (brand and client ones are created through the API)
    #[command(
        after_help = "Reads CALLCSV_DATA_DIR, CALLCSV_DATABASE_URL, CALLCSV_LOG, CALLCSV_LOG_FORMAT (see `callcsv --help`)."
    )]
    Create {
        /// The name to log in with.
        #[arg(long)]
        username: String,
        /// Only `platform` here.
        #[arg(long, default_value = "platform")]
        role: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// The top-level help's list of variables, from the one table in `config.rs`.
fn environment_help() -> String {
    let mut text = String::from(
        "Configuration: environment variables (a .env file in the working directory may set \
         them too); an unknown CALLCSV_* variable stops every command.\n",
    );
    for (name, default, meaning) in callcsv::config::VARIABLES {
        text.push_str(&format!("  {name}\n      {meaning} [default: {default}]\n"));
    }
    text
}

fn main() {
    callcsv::memory::tune_allocator();
    let matches = Cli::command().after_help(environment_help()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => fail(&format!("configuration: {e}")),
    };
    init_logging(&config.log_filter, config.log_format);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => migrate(config),
        Command::RunDue { once } => run_due(config, once),
        Command::EvaluateAlerts { at } => evaluate_alerts(config, at.as_deref()),
        Command::Demo {
            brand,
            password,
            admin,
            calls,
        } => demo(
            config,
            callcsv::demo::load::Options {
                brand,
                password,
                admin,
                calls,
                days: 90,
            },
        ),
        Command::Import {
            source,
            brand,
            files,
        } => import_files(config, &source, brand.as_deref(), &files),
        Command::Admin {
            command:
                AdminCommand::Create {
                    username,
                    role,
                    password_stdin,
                },
        } => admin_create(config, &username, &role, password_stdin),
    };
    if let Err(e) = outcome {
        fail(&e);
    }
}

fn fail(message: &str) -> ! {
    eprintln!("callcsv: {message}");
    std::process::exit(1);
}

/// Log lines go to standard output: as text, coloured only when that is a terminal (a file
/// or a pipe gets no escape codes), or as one JSON object per line with the same fields.
fn init_logging(filter: &str, format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stdout().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}

fn serve(config: Config) -> Result<(), String> {
    let bind = config.bind;
    tracing::info!(database = ?config.database_url, data_dir = %config.data_dir.display(), "starting");
    let state = server::prepare(config)?;
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    tracing::info!(%bind, "listening");
    actix_web::rt::System::new().block_on(async move {
        let server = server::start(state, listener, num_workers()).map_err(|e| e.to_string())?;
        server.wait().await.map_err(|e| e.to_string())
    })?;
    tracing::info!("stopped");
    Ok(())
}

fn num_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

fn migrate(config: Config) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let applied = db::run_migrations(&mut conn)?;
    println!("applied {} migration(s)", applied.len());
    Ok(())
}

fn run_due(config: Config, once: bool) -> Result<(), String> {
    if !once {
        return Err(
            "run-due needs --once (the built-in runner of `serve` is the continuous one)".into(),
        );
    }
    let state = server::prepare(config)?;
    let stopping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let runner = callcsv::runner::Runner::new(state.pool.clone(), state.config.clone(), stopping)?;
    let pass = runner.run_once().map_err(|e| e.to_string())?;
    println!(
        "recorded {} occurrence(s), built {} report(s), sent {} email(s), {} email failure(s), {} spool import(s), {} pull import(s)",
        pass.recorded, pass.built, pass.emailed, pass.email_failures, pass.spool_imports, pass.pull_imports
    );
    Ok(())
}

fn evaluate_alerts(config: Config, at: Option<&str>) -> Result<(), String> {
    let at = at
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| t.naive_utc())
                .map_err(|e| format!("--at {t:?}: not an RFC 3339 time ({e})"))
        })
        .transpose()?;
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    db::run_migrations(&mut conn)?;
    let grace = chrono::Duration::seconds(config.alert_grace_seconds);
    let started = std::time::Instant::now();
    let done = match at {
        Some(at) => callcsv::alerts::evaluate::run_pass_at(&mut conn, grace, at),
        None => callcsv::alerts::evaluate::run_pass(&mut conn, grace),
    }
    .map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({
            "rules": done.rules,
            "recorded": done.recorded,
            "seconds": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}

fn admin_create(
    config: Config,
    username: &str,
    role: &str,
    password_stdin: bool,
) -> Result<(), String> {
    if role != "platform" {
        return Err(format!(
            "--role {role}: only platform administrators are created here; create brand and client ones with POST /administrators"
        ));
    }
    if username.trim().is_empty() || username.len() > 100 {
        return Err("--username: 1 to 100 characters".into());
    }
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    };
    if password.chars().count() < 8 {
        return Err("the password must have at least 8 characters".into());
    }
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    db::run_migrations(&mut conn)?;
    let admin = db::administrators::create_platform(&mut conn, username, &password)
        .map_err(|e| e.message)?;
    println!(
        "created platform administrator {} ({})",
        admin.username, admin.id
    );
    Ok(())
}

fn demo(config: Config, options: callcsv::demo::load::Options) -> Result<(), String> {
    if let Some(pw) = &options.password {
        if pw.chars().count() < 8 {
            return Err("--password: at least 8 characters".into());
        }
    }
    let bind = config.bind;
    let outbox = config.outbox_dir();
    let interval = config.runner_interval_seconds;
    let state = server::open(config)?;
    let loaded = callcsv::demo::load::load(state, &options)?;
    let calls = &loaded.calls;
    println!(
        "Loaded the demo brand {:?} ({}) in {:.1} s:\n  \
         {} clients of every type with endpoints and DDIs, 2 carriers, 2 DDI providers,\n  \
         {} rating plans with {} rates, {} calls over the last 90 days ({} unrated;\n  \
         {} inbound, {} of them delivered by a DDI provider and detected),\n  \
         {} schedulers due now (one emails its report).",
        options.brand,
        loaded.brand_id,
        loaded.seconds,
        callcsv::demo::world::CLIENTS.len(),
        callcsv::demo::plans::PLANS.len(),
        loaded.rates,
        calls.accepted,
        calls.unrated,
        loaded.inbound,
        loaded.detected,
        loaded.schedulers,
    );
    println!();
    match &loaded.password {
        Some(pw) => println!(
            "Log in as {:?} with password {pw:?} (shown only now).",
            loaded.admin
        ),
        None => println!(
            "Log in as {:?}: that administrator existed already, its password is unchanged.",
            loaded.admin
        ),
    }
    println!(
        "The client administrator {:?} (password {:?}) sees only Atlas Logistics.",
        loaded.client_admin, loaded.client_admin_password
    );
    let base = format!("http://{bind}");
    println!(
        "\nNext: start the service (`callcsv serve`, or `cargo run --release`); its runner builds \
         the due reports within {interval} s (or run `callcsv run-due --once`).\n  \
         API:      {base}  (contract: {base}/openapi.yaml)\n  \
         Console:  none yet\n  \
         Outbox:   {}  (emails as .eml files unless CALLCSV_SMTP_URL is set)\n  \
         First requests: see \"A first session\" in README.md.",
        outbox.display()
    );
    Ok(())
}

/// `callcsv import`: each file read into the source as its own import, with a progress bar
/// on a terminal and the import's summary after; an error for a file that cannot be read.
fn import_files(
    config: Config,
    source: &str,
    brand: Option<&str>,
    files: &[std::path::PathBuf],
) -> Result<(), String> {
    use callcsv::sources::{arrivals, import};
    use std::io::IsTerminal;
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("{}: {e}", config.data_dir.display()))?;
    let pool = db::connect(&config.database_url, 1)?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    db::run_migrations(&mut conn)?;
    let plans = callcsv::calls::rater::PlanCache::default();
    let loaded = arrivals::for_cli(&mut conn, &plans, source, brand).map_err(|e| e.message)?;
    let mut failed = vec![];
    for path in files {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bar = if std::io::stderr().is_terminal() {
            indicatif::ProgressBar::new(size)
        } else {
            indicatif::ProgressBar::hidden()
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ETA {eta}",
            )
            .map_err(|e| e.to_string())?
            .progress_chars("=> "),
        );
        bar.set_prefix(name.clone());
        let started = std::time::Instant::now();
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let done = import::import_stream(
            &mut conn,
            &loaded,
            import::Origin::Cli,
            file_name,
            file,
            &mut |p| {
                bar.set_position(p.bytes);
                let rate = p.counts.records as f64 / started.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!("{} records, {rate:.0}/s", p.counts.records));
            },
        )
        .map_err(|e| format!("{name}: {}", e.message))?;
        bar.finish_and_clear();
        println!(
            "{name}: {} records: {} accepted, {} duplicates, {} rejected, {} unrated; skipped {} unanswered, {} internal, {} legs, {} filtered (import {})",
            done.records, done.accepted, done.duplicates, done.rejected, done.unrated,
            done.skipped_unanswered, done.skipped_internal, done.skipped_leg, done.skipped_filtered,
            done.id
        );
        let errors: Vec<serde_json::Value> = serde_json::from_str(&done.errors).unwrap_or_default();
        for e in errors.iter().take(5) {
            println!(
                "  line {}: {}",
                e["line"],
                e["message"].as_str().unwrap_or("")
            );
        }
        if done.error_count > 5 {
            println!(
                "  … {} errors in all (GET /cdr_imports/{} lists the first 1000)",
                done.error_count, done.id
            );
        }
        if let Some(why) = &done.failure {
            failed.push(format!("{name}: {why}"));
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => Err(failed.join("; ")),
    }
}
