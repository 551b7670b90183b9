//! The `callcsv` command: `serve` (the default) runs the API; `migrate` applies database
//! migrations; `admin create` makes a platform administrator.

use std::io::BufRead;
use std::net::TcpListener;

use clap::{Parser, Subcommand};

use callcsv::config::Config;
use callcsv::{db, server};

#[derive(Parser)]
#[command(
    name = "callcsv",
    version,
    about = "Rated call CSV reports for VoIP operators"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API (and the scheduler runner) until SIGTERM/Ctrl-C.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Record due scheduler runs, build their reports and send their emails, then exit
    /// (for running from cron instead of the built-in runner).
    RunDue {
        /// Required: one pass, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Manage administrators from the command line.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a platform administrator (brand and client ones are created through the API).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "platform")]
        role: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

fn main() {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => fail(&format!("configuration: {e}")),
    };
    init_logging(&config.log_filter);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => migrate(config),
        Command::RunDue { once } => run_due(config, once),
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

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
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
        "recorded {} occurrence(s), built {} report(s), sent {} email(s), {} email failure(s)",
        pass.recorded, pass.built, pass.emailed, pass.email_failures
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
