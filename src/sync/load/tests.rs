//! Loader tests against the real PostgreSQL+PostGIS (see below).
