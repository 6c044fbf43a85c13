//! Integration tests: one binary, one module per capability. Each test
//! runs the real geosync binary in a scratch folder of its own, against the
//! real services tests/run starts, so tests run in parallel without seeing
//! each other.

mod chromium;
mod cli;
mod compose_corpus;
mod compose_import;
mod compose_roundtrip;
mod compose_semantics;
mod docker;
mod docker_engine;
mod docker_repair;
mod engine_proxy;
mod files;
mod geonetwork;
mod geonetwork_conformance;
mod geoserver;
mod geoserver_conformance;
#[path = "../emulators/geoserver/mod.rs"]
mod geoserver_emulator;
#[path = "../emulators/geonetwork/mod.rs"]
mod gn_emulator;
mod journal;
mod ldap;
mod ldap_ad;
mod locks;
mod loopback_http;
mod manifest_errors;
mod mapserver;
mod mviewer;
mod mviewer_browser;
#[path = "../emulators/owncloud/mod.rs"]
mod owncloud;
mod pg;
mod pg_connection;
mod pg_hba;
mod postgres;
mod process;
mod saved_plans;
mod schema;
mod secrets;
mod smallfs;
mod support;
mod symlinks;
mod sync;
mod sync_owncloud;
mod sync_platform;
mod sync_publish;
mod sync_role;
mod terraform_cli;
mod validate;
