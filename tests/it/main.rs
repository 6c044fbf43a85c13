//! Integration tests: one binary, one module per capability. Each test
//! runs the real geosync binary in a scratch folder of its own, against the
//! real services tests/run starts, so tests run in parallel without seeing
//! each other.

mod cli;
mod compose_corpus;
mod compose_import;
mod compose_roundtrip;
mod compose_semantics;
mod docker;
mod docker_engine;
mod files;
mod manifest_errors;
mod mviewer;
mod pg;
mod pg_hba;
mod postgres;
mod saved_plans;
mod schema;
mod support;
mod terraform_cli;
mod validate;
