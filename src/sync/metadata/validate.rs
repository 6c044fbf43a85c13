//! Schema validation of a record before it leaves geosync, in process with
//! libxml2 (what `xmllint --schema` runs) against the embedded ISO 19139
//! schemas. libxml2's schema and document objects are not thread-safe to
//! share, so one thread owns them and validates records one at a time;
//! the schemas are parsed once, on the first record. Network access is
//! off for libxml2 in this process (no schema or DTD fetched from outside:
//! a record's xsi:schemaLocation hints are never followed).

use std::sync::mpsc;
use std::sync::OnceLock;

use libxml::parser::{Parser, ParserOptions};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};

use super::text::clean_line;
use super::{MetadataError, Record};

type Verdict = Result<(), Vec<String>>;

struct Job {
    xml: String,
    reply: Box<dyn FnOnce(Verdict) + Send>,
}

static VALIDATOR: OnceLock<Result<mpsc::Sender<Job>, String>> = OnceLock::new();

/// Validates the record (blocking the caller for a few milliseconds; the
/// first call also parses the schemas). Invalid -> the dataset's error
/// with the first schema errors.
pub fn validate_blocking(record: &Record) -> Result<(), MetadataError> {
    let (tx, rx) = mpsc::channel();
    submit(record, Box::new(move |verdict| drop(tx.send(verdict))))?;
    let verdict = rx.recv().map_err(|_| stopped())?;
    judge(record, verdict)
}

/// [`validate_blocking`] for async callers: waits without holding a thread.
pub async fn validate(record: &Record) -> Result<(), MetadataError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    submit(record, Box::new(move |verdict| drop(tx.send(verdict))))?;
    let verdict = rx.await.map_err(|_| stopped())?;
    judge(record, verdict)
}

fn submit(record: &Record, reply: Box<dyn FnOnce(Verdict) + Send>) -> Result<(), MetadataError> {
    let sender = VALIDATOR
        .get_or_init(start)
        .as_ref()
        .map_err(|e| MetadataError::Schemas(e.clone()))?;
    sender
        .send(Job {
            xml: record.xml.clone(),
            reply,
        })
        .map_err(|_| stopped())
}

fn judge(record: &Record, verdict: Verdict) -> Result<(), MetadataError> {
    verdict.map_err(|errors| MetadataError::Invalid {
        dataset: record.dataset.clone(),
        uuid: record.uuid.clone(),
        errors,
    })
}

fn stopped() -> MetadataError {
    MetadataError::Schemas("the validator thread stopped".into())
}

/// Starts the validator thread and waits until its schemas are loaded.
fn start() -> Result<mpsc::Sender<Job>, String> {
    let (jobs, inbox) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name("iso19139-validator".into())
        .spawn(move || {
            let mut context = match load_schemas() {
                Ok(context) => {
                    let _ = ready_tx.send(Ok(()));
                    context
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            for job in inbox {
                let verdict =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&mut context, &job.xml)))
                        .unwrap_or_else(|_| Err(vec!["libxml2 failed inside the validation".into()]));
                (job.reply)(verdict);
            }
        })
        .map_err(|e| format!("cannot start the validator thread: {e}"))?;
    ready_rx
        .recv()
        .map_err(|_| "the validator thread stopped while loading the schemas".to_string())??;
    Ok(jobs)
}

/// Initialises libxml2 for the whole process, network access off: no
/// schema, DTD or entity is ever fetched from outside, by the validator
/// or by GDAL's XML-based drivers, which share the library. Called once by
/// `main` before any other thread starts; again by the validator, in case
/// it runs where `main` did not (tests): a second call changes nothing.
pub fn init_libxml2() {
    // SAFETY: plain libxml2 initialisation calls; xmlInitParser is
    // idempotent, and the loader set is libxml2's own no-network loader.
    unsafe {
        libxml::bindings::xmlInitParser();
        libxml::bindings::xmlSetExternalEntityLoader(Some(libxml::bindings::xmlNoNetExternalEntityLoader));
    }
}

fn load_schemas() -> Result<SchemaValidationContext, String> {
    init_libxml2();
    let dir = tempfile::Builder::new()
        .prefix("geosync-iso19139-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder for them: {e}"))?;
    super::schemas::write_to(dir.path()).map_err(|e| format!("cannot write them out: {e}"))?;
    let entry = dir.path().join(super::schemas::ENTRY);
    let mut parser = SchemaParserContext::from_file(&entry.to_string_lossy());
    // The schemas are read while parsing: the folder can go afterwards.
    SchemaValidationContext::from_parser(&mut parser).map_err(|errors| messages(errors).join("; "))
}

fn check(context: &mut SchemaValidationContext, xml: &str) -> Verdict {
    let options = ParserOptions {
        recover: false,
        no_net: true,
        no_error: true,
        no_warning: true,
        ..ParserOptions::default()
    };
    let document = Parser::default()
        .parse_string_with_options(xml, options)
        .map_err(|_| vec!["libxml2 cannot parse it: not well-formed XML".to_string()])?;
    context.validate_document(&document).map_err(messages)
}

fn messages(errors: Vec<libxml::error::StructuredError>) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| {
            let message = clean_line(e.message.as_deref().unwrap_or("(no message)"));
            match e.line {
                Some(line) => format!("line {line}: {message}"),
                None => message,
            }
        })
        .collect()
}
