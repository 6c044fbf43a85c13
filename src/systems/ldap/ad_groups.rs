//! The members of the AD groups mapped to roles, as AD's "effective
//! membership" counts them: a member of a group nested in a mapped group,
//! at any depth, is a member of the mapped group.
//!
//! Expanded here rather than with the LDAP_MATCHING_RULE_IN_CHAIN filter
//! (`memberOf:1.2.840.113556.1.4.1941:=`): that rule is evaluated per
//! candidate entry, which Microsoft documents as costly on big directories,
//! and a search with it that times out fails the whole plan. Here each group
//! is read once (its `member` with range retrieval, and the groups among its
//! members found by `memberOf`, AD's own back link), whatever the depth and
//! however many mapped groups share it, and a cycle ends where it started.

use std::collections::{BTreeMap, BTreeSet};

use ldap3::{ldap_escape, Ldap, Scope};

use super::client::{self, ClientError};
use super::dn;

/// One group as read: its direct members (normalized) and the groups
/// among them (as AD spells them).
struct Group {
    members: BTreeSet<String>,
    subgroups: Vec<String>,
}

/// Reads groups, each at most once per run.
pub struct GroupReader {
    nested: bool,
    page_size: i32,
    member_range: u32,
    read: BTreeMap<String, Group>,
}

/// Why a group's members could not be known.
pub enum GroupError {
    /// AD has no group at the group's DN: renamed, moved or deleted, or
    /// the DN is another kind of entry.
    Missing(String),
    Client(ClientError),
}

impl From<ClientError> for GroupError {
    fn from(error: ClientError) -> GroupError {
        GroupError::Client(error)
    }
}

impl GroupReader {
    /// `nested = false` reads direct members only; `member_range` values
    /// of `member` are asked for per read.
    pub fn new(nested: bool, page_size: i32, member_range: u32) -> GroupReader {
        GroupReader {
            nested,
            page_size,
            member_range,
            read: BTreeMap::new(),
        }
    }

    /// The normalized DNs of `group`'s members, nested ones included
    /// (users and groups alike: the caller matches them with its users).
    /// A group that is not there is an error, never an empty group: read
    /// as empty, a renamed group would take the role from all its members.
    pub async fn members(&mut self, ldap: &mut Ldap, group: &str) -> Result<BTreeSet<String>, GroupError> {
        let mut members = BTreeSet::new();
        let mut visited = BTreeSet::new();
        let mut pending = vec![group.to_string()];
        while let Some(next) = pending.pop() {
            let key = dn::normalize(&next);
            if !visited.insert(key.clone()) {
                continue; // a cycle, or a group reached twice
            }
            if !self.read.contains_key(&key) {
                let read = self.read_group(ldap, &next).await?;
                self.read.insert(key.clone(), read);
            }
            let read = &self.read[&key];
            members.extend(read.members.iter().cloned());
            pending.extend(read.subgroups.iter().cloned());
        }
        Ok(members)
    }

    async fn read_group(&self, ldap: &mut Ldap, group: &str) -> Result<Group, GroupError> {
        // Only a group: a user's or an OU's DN mapped by mistake would read
        // as a group without members, and take the role from all of them.
        let members: BTreeSet<String> =
            client::all_values(ldap, group, "(objectClass=group)", "member", self.member_range)
                .await?
                .ok_or_else(|| GroupError::Missing(group.to_string()))?
                .iter()
                .map(|m| dn::normalize(m))
                .collect();
        if !self.nested || members.is_empty() {
            return Ok(Group {
                members,
                subgroups: Vec::new(),
            });
        }
        // The groups among the members, without reading every member: AD
        // keeps `memberOf` on each group nested in this one.
        let filter = format!("(&(objectClass=group)(memberOf={}))", ldap_escape(group));
        let base = dn::domain(group);
        let found =
            client::paged_search(ldap, &base, Scope::Subtree, &filter, &["1.1"], self.page_size).await?;
        let subgroups = found.into_iter().map(|entry| entry.dn).collect();
        Ok(Group { members, subgroups })
    }
}
