//! `[sync] postgres_role`: the role the sync connects to PostgreSQL as.
//! Without it the sync uses the `[postgres]` user, which the reference
//! manifests make the superuser: the tables it loads are then the
//! superuser's, so `default_for` grants of the role that should own them
//! never apply, and the sync's host must hold the superuser's password.
//! The role's password is declared in `[[postgres.role]]`, so the setting
//! is checked once both sections are lowered.

use crate::manifest::secret::Secret;
use crate::manifest::source::Location;
use crate::manifest::ManifestError;
use crate::systems::postgres::manifest::{PgConnection, Postgres};

use super::Sync;

const SUBJECT: &str = "[sync] postgres_role";

/// The role `[sync] postgres_role` names, with its password once checked
/// against `[[postgres.role]]`.
#[derive(Debug, Clone)]
pub struct SyncRole {
    pub name: String,
    pub at: Location,
    pub password: Option<Secret>,
}

/// Gives the sync's role its password, or says why the role cannot be the
/// sync's: it must be declared, present, able to log in, with a password
/// (the sync authenticates like any client; it has no other credential).
pub fn resolve_role(sync: &mut Sync, postgres: &Postgres, errors: &mut Vec<ManifestError>) {
    let Some(role) = &mut sync.settings.postgres_role else {
        return;
    };
    let declared = postgres.roles.iter().find(|r| r.name == role.name);
    let message = match declared {
        None => {
            let known: Vec<&str> = postgres.roles.iter().map(|r| r.name.as_str()).collect();
            format!(
                "role `{}` is not a [[postgres.role]] of the manifests (declared: {}): declare it with login = true and a password",
                role.name,
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )
        }
        Some(r) if !r.present => format!("role `{}` is declared absent", r.name),
        Some(r) if !r.login => format!(
            "role `{}` cannot log in: declare it with login = true",
            r.name
        ),
        Some(r) => match &r.password {
            None => format!(
                "role `{}` has no password: give it one (password = {{ env = \"...\" }} or {{ file = \"...\" }})",
                r.name
            ),
            Some(password) => {
                role.password = Some(password.clone());
                return;
            }
        },
    };
    errors.push(ManifestError::Invalid {
        at: role.at.clone(),
        subject: SUBJECT.into(),
        message,
    });
}

impl Sync {
    /// How the sync reaches PostgreSQL: the `[postgres]` server (host,
    /// port, TLS, pool), as `postgres_role` when it is set.
    pub fn connection(&self, server: &PgConnection) -> PgConnection {
        match &self.settings.postgres_role {
            Some(role) => PgConnection {
                user: role.name.clone(),
                password: role.password.clone(),
                ..server.clone()
            },
            None => server.clone(),
        }
    }
}
