//! Catalogue tests (below).
