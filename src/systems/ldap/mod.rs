//! geOrchestra's OpenLDAP: roles, orgs, the manifest's users (the
//! pseudo-users georchestra-ouvert / georchestra-restreint) and users
//! imported from an Active Directory, whose passwords stay in AD
//! (`{SASL}uid@REALM`, checked by saslauthd).
//!
//! AD is only read. In the directory, geosync changes only entries it
//! marked (users: `employeeType: geosync:*`; roles and orgs: `owner:
//! cn=geosync`), and in any role or org only the member values of users it
//! manages, so what the geOrchestra console creates is left alone.

mod ad_groups;
mod client;
mod diff;
pub mod dn;
pub mod manifest;
mod observed;

use std::collections::HashSet;

use futures::future::BoxFuture;
use futures::StreamExt;
use ldap3::exop::PasswordModify;
use ldap3::{Ldap as LdapHandle, Mod};
use tokio::sync::Mutex;

use crate::plan::{Change, PlanOptions, Warning};
use crate::systems::ldap::manifest::{Connection, Ldap as Desired, ORG_KIND, ROLE_KIND, USER_KIND};
use crate::systems::Manifest;
use crate::systems::{BoxError, System, SystemPlan};
use client::ClientError;
use diff::{LdapOp, Step};

/// Every kind this system plans, for `--only`/`--exclude`.
pub const KINDS: &[&str] = &[USER_KIND, ROLE_KIND, ORG_KIND];

#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("the directory (OpenLDAP)")]
    Directory(#[source] ClientError),
    #[error("the Active Directory source; nothing was changed")]
    ActiveDirectory(#[source] ClientError),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    Plan(Vec<diff::PlanError>),
    #[error("{dn}: {operation} refused: {message}")]
    Refused {
        dn: String,
        operation: &'static str,
        message: String,
    },
    #[error("{dn}: {operation}")]
    Operation {
        dn: String,
        operation: &'static str,
        #[source]
        source: Box<ldap3::LdapError>,
    },
    #[error("{0}: the change was not planned by the ldap system")]
    ForeignChange(String),
}

pub struct LdapSystem {
    desired: Desired,
    /// One connection for the whole apply: ldap3 multiplexes operations.
    apply_conn: Mutex<Option<LdapHandle>>,
}

impl LdapSystem {
    pub fn from_manifest(manifest: &Manifest) -> Option<Self> {
        manifest.ldap.clone().map(|desired| LdapSystem {
            desired,
            apply_conn: Mutex::new(None),
        })
    }

    async fn observe(&self) -> Result<observed::Observed, LdapError> {
        let directory = async {
            let mut ldap = client::connect(&self.desired.connection).await?;
            let mut observed = observed::directory(&mut ldap, &self.desired).await?;
            let _ = ldap.unbind().await;
            self.check_passwords(&mut observed).await?;
            Ok::<_, ClientError>(observed)
        };
        let ad = async {
            match &self.desired.active_directory {
                Some(ad) => observed::active_directory(ad).await.map(Some),
                None => Ok(None),
            }
        };
        let (directory, ad) = tokio::join!(directory, ad);
        let ad = ad.map_err(LdapError::ActiveDirectory)?;
        let mut observed = directory.map_err(LdapError::Directory)?;
        observed.ad = ad;
        Ok(observed)
    }

    /// Binds as each manifest user that has a password: a refused bind is
    /// drift. The password is never read back nor compared otherwise.
    async fn check_passwords(&self, observed: &mut observed::Observed) -> Result<(), ClientError> {
        let users_dn = self.desired.users_dn();
        let checks: Vec<_> = self
            .desired
            .users
            .iter()
            .filter_map(|user| {
                let key = dn::normalize(&dn::child("uid", &user.uid, &users_dn));
                let exists = observed.users.get(&key).is_some_and(|u| u.owner.is_some());
                let password = user.password.as_ref().filter(|_| exists)?;
                let entry_dn = observed.users.get(&key)?.dn.clone();
                Some(async move {
                    let ok = client::can_bind(&self.desired.connection, &entry_dn, password.expose()).await?;
                    Ok::<_, ClientError>((key, ok))
                })
            })
            .collect();
        let mut results = futures::stream::iter(checks).buffer_unordered(4);
        while let Some(result) = results.next().await {
            let (key, ok) = result?;
            if let Some(user) = observed.users.get_mut(&key) {
                user.password_ok = Some(ok);
            }
        }
        Ok(())
    }

    fn tls_warnings(&self) -> Vec<Warning> {
        let mut connections: Vec<&Connection> = vec![&self.desired.connection];
        if let Some(ad) = &self.desired.active_directory {
            connections.push(&ad.connection);
        }
        connections
            .into_iter()
            .filter(|c| c.skip_verify)
            .map(|c| Warning {
                address: None,
                message: format!(
                    "TLS certificate verification is OFF for {} (tls_skip_verify = true): anyone on the path can read the bind password and the directory",
                    c.url
                ),
            })
            .collect()
    }

    async fn connection(&self) -> Result<LdapHandle, LdapError> {
        let mut held = self.apply_conn.lock().await;
        if let Some(ldap) = held.as_mut() {
            if !ldap.is_closed() {
                return Ok(ldap.clone());
            }
        }
        let ldap = client::connect(&self.desired.connection)
            .await
            .map_err(LdapError::Directory)?;
        *held = Some(ldap.clone());
        Ok(ldap)
    }

    async fn run(&self, op: &LdapOp) -> Result<(), LdapError> {
        let mut ldap = self.connection().await?;
        for step in &op.steps {
            run_step(&mut ldap, step).await?;
        }
        Ok(())
    }
}

fn sets(attrs: &[(String, Vec<String>)]) -> Vec<(String, HashSet<String>)> {
    attrs
        .iter()
        .map(|(name, values)| (name.clone(), values.iter().cloned().collect()))
        .collect()
}

/// Codes an idempotent step accepts: the value or entry is already as wanted.
const NO_SUCH_ATTRIBUTE: u32 = 16;
const VALUE_EXISTS: u32 = 20;
const NO_SUCH_OBJECT: u32 = 32;

async fn run_step(ldap: &mut LdapHandle, step: &Step) -> Result<(), LdapError> {
    let (dn, operation, result) = match step {
        Step::Add { dn, attrs } => (dn, "add", ldap.add(dn, sets(attrs)).await),
        Step::Replace { dn, attrs } => {
            let mods = sets(attrs)
                .into_iter()
                .map(|(name, values)| Mod::Replace(name, values))
                .collect();
            (dn, "modify", ldap.modify(dn, mods).await)
        }
        Step::SetPassword { dn, password } => {
            let exop = PasswordModify {
                user_id: Some(dn),
                old_pass: None,
                new_pass: Some(password.expose()),
            };
            let result = ldap.extended(exop).await.map(|r| r.1);
            (dn, "set password", result)
        }
        Step::Rename { dn, rdn } => (dn, "rename", ldap.modifydn(dn, rdn, true, None).await),
        Step::Members { dn, add, remove } => return members(ldap, dn, add, remove).await,
        Step::Delete { dn } => {
            let result = ldap.delete(dn).await;
            if result.as_ref().is_ok_and(|r| r.rc == NO_SUCH_OBJECT) {
                return Ok(());
            }
            (dn, "delete", result)
        }
    };
    check(dn, operation, result)
}

fn check(
    dn: &str,
    operation: &'static str,
    result: ldap3::result::Result<ldap3::LdapResult>,
) -> Result<(), LdapError> {
    let result = result.map_err(|source| LdapError::Operation {
        dn: dn.to_string(),
        operation,
        source: Box::new(source),
    })?;
    if result.rc != 0 {
        return Err(LdapError::Refused {
            dn: dn.to_string(),
            operation,
            message: client::describe_rc(result.rc, &result.text),
        });
    }
    Ok(())
}

/// One modify for all member values; when some are already there (or
/// already gone: the memberof overlay's referential integrity, or a
/// crashed run), value by value, ignoring those.
async fn members(
    ldap: &mut LdapHandle,
    dn: &str,
    add: &[String],
    remove: &[String],
) -> Result<(), LdapError> {
    let mut mods = Vec::new();
    if !remove.is_empty() {
        mods.push(Mod::Delete(
            "member".to_string(),
            remove.iter().cloned().collect(),
        ));
    }
    if !add.is_empty() {
        mods.push(Mod::Add("member".to_string(), add.iter().cloned().collect()));
    }
    let result = ldap.modify(dn, mods).await;
    let rc = result.as_ref().map(|r| r.rc).unwrap_or(0);
    if rc != NO_SUCH_ATTRIBUTE && rc != VALUE_EXISTS {
        return check(dn, "modify members", result);
    }
    for value in remove {
        let one = Mod::Delete("member".to_string(), HashSet::from([value.clone()]));
        let result = ldap.modify(dn, vec![one]).await;
        if !result.as_ref().is_ok_and(|r| r.rc == NO_SUCH_ATTRIBUTE) {
            check(dn, "remove member", result)?;
        }
    }
    for value in add {
        let one = Mod::Add("member".to_string(), HashSet::from([value.clone()]));
        let result = ldap.modify(dn, vec![one]).await;
        if !result.as_ref().is_ok_and(|r| r.rc == VALUE_EXISTS) {
            check(dn, "add member", result)?;
        }
    }
    Ok(())
}

impl System for LdapSystem {
    fn name(&self) -> &'static str {
        "ldap"
    }

    /// slapd serves many operations at once over one connection.
    fn concurrency(&self) -> usize {
        8
    }

    fn plan(&self, options: PlanOptions) -> BoxFuture<'_, Result<SystemPlan, BoxError>> {
        Box::pin(async move {
            let observed = self.observe().await?;
            let planned = diff::plan(&self.desired, &observed, options);
            if !planned.errors.is_empty() {
                return Err(LdapError::Plan(planned.errors).into());
            }
            let mut warnings = self.tls_warnings();
            warnings.extend(planned.warnings);
            Ok(SystemPlan {
                changes: planned.changes,
                warnings,
                blockers: planned.blockers,
            })
        })
    }

    fn apply<'a>(&'a self, change: &'a Change) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async move {
            match change.operation.as_ref().and_then(|op| op.downcast::<LdapOp>()) {
                Some(op) => Ok(self.run(op).await?),
                None => Err(LdapError::ForeignChange(change.address.to_string()).into()),
            }
        })
    }
}
