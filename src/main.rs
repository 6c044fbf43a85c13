//! geosync: runs a dockerized geOrchestra spatial data infrastructure as code.

mod cli;
mod commands;
mod compose;
mod engine;
mod error_chain;
mod escape;
mod failure;
mod manifest;
mod output;
mod placement;
mod plan;
mod platform;
mod sync;
mod systems;
mod template;

use clap::Parser;

use cli::{Cli, Command};
use commands::Exit;
use manifest::secret::Redactor;
use output::{Printer, Verbosity};

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // A usage error is a failure, 1: clap's 2 means "changes
            // pending" under `plan --detailed-exitcode`. --help is not one.
            let exit = if error.use_stderr() {
                Exit::Failure
            } else {
                Exit::Success
            };
            return std::process::ExitCode::from(exit as u8);
        }
    };
    let verbosity = match (cli.quiet, cli.verbose) {
        (true, _) => Verbosity::Quiet,
        (false, 0) => Verbosity::Normal,
        _ => Verbosity::Verbose,
    };
    // The sync loop is a service: its steps are logged (target, dataset, step).
    let service = matches!(&cli.command, Command::Sync(args) if !args.once && !args.dry_run);
    init_logs(cli.verbose, service);
    // Before any thread: libxml2's first initialisation is not safe to run
    // in two threads at once, and both GDAL's readers and the metadata
    // validator's thread may be the first to use it.
    sync::metadata::init_libxml2();
    let redactor = Redactor::default();
    let printer = Printer::new(verbosity, redactor.clone());
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            printer.error(&format!("cannot start the async runtime: {e}"));
            return std::process::ExitCode::from(Exit::Failure as u8);
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Validate(args) => commands::validate::run(args, &printer, &redactor),
            Command::Plan(args) => commands::plan::run(args, &printer, &redactor).await,
            Command::Apply(args) => commands::apply::run(args, &printer, &redactor).await,
            Command::ImportCompose(args) => commands::import_compose::run(args, &printer),
            Command::Schema => commands::schema::run(&printer),
            Command::Sync(args) => commands::sync::run(args, &printer, &redactor).await,
            Command::Status(args) => commands::status::run(args, &printer, &redactor).await,
        }
    });
    let exit = result.unwrap_or_else(|error| {
        printer.error(&failure::text(&error));
        if wants_json(&cli.command) {
            let validating = matches!(cli.command, Command::Validate(_));
            printer.result(&format!("{}\n", failure::document(&error, validating, &redactor)));
        }
        Exit::Failure
    });
    std::process::ExitCode::from(exit as u8)
}

fn wants_json(command: &Command) -> bool {
    match command {
        Command::Validate(args) => args.json,
        Command::Plan(args) => args.manifest.json,
        Command::Apply(args) => args.manifest.json,
        Command::Sync(args) => args.manifest.json,
        Command::Status(args) => args.manifest.json,
        Command::ImportCompose(_) | Command::Schema => false,
    }
}

/// Debug logs go to stderr with -vv; RUST_LOG refines them.
fn init_logs(verbose: u8, service: bool) {
    let default = match (verbose >= 2, service) {
        (true, _) => "geosync=debug",
        (false, true) => "warn,geosync::sync=info",
        (false, false) => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
