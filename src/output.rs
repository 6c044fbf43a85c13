//! The one place that prints. Results (plans, reports, JSON) are built from
//! typed values where secrets are already `(sensitive)`, and are not
//! scrubbed by substring, which could only corrupt them. Notes and errors,
//! which may quote a system's message, are scrubbed as a last resort.
//! Everything goes through `escape_lines`, so no control character reaches
//! the terminal (names and values are escaped where they are put into
//! text; this is the last line of defence). Results go to stdout,
//! everything else to stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::escape::escape_lines;
use crate::manifest::secret::Redactor;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

pub struct Printer {
    verbosity: Verbosity,
    redactor: Redactor,
}

impl Printer {
    pub fn new(verbosity: Verbosity, redactor: Redactor) -> Self {
        Printer { verbosity, redactor }
    }

    pub fn verbose(&self) -> bool {
        self.verbosity >= Verbosity::Verbose
    }

    pub fn quiet(&self) -> bool {
        self.verbosity == Verbosity::Quiet
    }

    /// Redacted, then stripped of control characters but for the layout.
    fn safe(&self, text: &str) -> String {
        escape_lines(&self.redactor.redact(text)).into_owned()
    }

    /// The command's result (a plan, a report, JSON): always printed.
    pub fn result(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(escape_lines(text).as_bytes());
        let _ = stdout.flush();
    }

    /// Progress and context for people; silenced by -q.
    pub fn note(&self, text: &str) {
        if self.verbosity > Verbosity::Quiet {
            eprintln!("{}", self.safe(text));
        }
    }

    pub fn error(&self, text: &str) {
        eprintln!("error: {}", self.safe(text).trim_end());
    }

    /// Asks a yes/no question on the terminal; anything but "yes" is no.
    pub fn confirm(&self, question: &str) -> bool {
        eprint!("{question} Only 'yes' will be accepted: ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == "yes"
    }

    /// A spinner on a terminal, nothing elsewhere (logs, CI, pipes).
    pub fn spinner(&self, message: &str) -> ProgressBar {
        if self.verbosity == Verbosity::Quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new_spinner().with_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// A counter of finished changes, on a terminal only.
    pub fn progress(&self, total: usize) -> ProgressBar {
        if self.verbosity == Verbosity::Quiet || !std::io::stderr().is_terminal() {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    }
}
