//! An error and its sources as one line ("a: b: c"), the way people read
//! causes: shared by the executor's report, the sync's plan step, its loop
//! and `geosync status`.

pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
