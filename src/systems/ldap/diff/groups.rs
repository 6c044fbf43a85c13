//! Roles and orgs: the entries the manifest declares, and the membership
//! of the users geosync manages in every role or org they belong to.
//! Member values of other users are never added or removed.

use std::collections::{BTreeMap, BTreeSet};

use super::{Draft, Key, Membership, PlanError, Planned, Step};
use crate::plan::{Action, Address, FieldChange, PlanOptions, Reason};
use crate::systems::ldap::dn;
use crate::systems::ldap::manifest::{Ldap, ORG_KIND, ROLE_KIND};
use crate::systems::ldap::observed::{Observed, ObservedGroup, OWNER_MARK};

/// A role or org as the manifest declares it (None: only its members are managed).
struct Declared {
    name: String,
    /// Attributes of the group entry beyond cn/member/owner.
    attrs: Vec<(String, Vec<String>)>,
}

pub(super) fn plan_groups(
    desired: &Ldap,
    observed: &Observed,
    options: PlanOptions,
    membership: &Membership,
    planned: &mut Planned,
) {
    let mut roles: BTreeMap<String, Option<Declared>> = BTreeMap::new();
    for role in &desired.roles {
        let attrs = vec![(
            "description".to_string(),
            role.description.iter().cloned().collect(),
        )];
        let declared = Declared {
            name: role.name.clone(),
            attrs,
        };
        roles.insert(role.name.to_lowercase(), Some(declared));
    }
    for wanted in membership.roles.values().flatten() {
        roles.entry(wanted.clone()).or_insert(None);
    }
    let rail = RemovalRail::of(desired, options);
    for (key, declared) in &roles {
        let now = observed.roles.get(key);
        let group = Group {
            kind: ROLE_KIND,
            key,
            declared: declared.as_ref(),
            now,
            parent: desired.roles_dn(),
        };
        group.plan(options, membership, planned);
        if let Some(now) = now {
            rail.check(key, now, membership, planned);
        }
    }
    let mut orgs: BTreeMap<String, Option<Declared>> = BTreeMap::new();
    for org in &desired.orgs {
        let attrs = vec![
            ("o".to_string(), vec![org.title.clone()]),
            (
                "description".to_string(),
                org.description.iter().cloned().collect(),
            ),
        ];
        let declared = Declared {
            name: org.name.clone(),
            attrs,
        };
        orgs.insert(org.name.to_lowercase(), Some(declared));
    }
    for wanted in membership.orgs.values() {
        orgs.entry(wanted.clone()).or_insert(None);
    }
    for (key, declared) in &orgs {
        let now = observed.orgs.get(key);
        let group = Group {
            kind: ORG_KIND,
            key,
            declared: declared.as_ref(),
            now: now.map(|o| &o.group),
            parent: desired.orgs_dn(),
        };
        group.plan(options, membership, planned);
        if let (Some(declared), Some(now)) = (declared, now) {
            if !now.has_details && !now.group.dn.is_empty() {
                planned.warn(
                    Some(Address::new(ORG_KIND, &declared.name)),
                    "has no o= entry (organization): the console shows it without details",
                );
            }
        }
    }
    plan_unlisted(observed, &roles, &orgs, desired, options, planned);
}

/// The safety rail on roles mapped from AD groups: a group emptied or
/// swapped by mistake in AD would otherwise take the role from all its
/// members at once. Users that leave AD or are disabled there are the
/// users' rail (`max_removal_percent` of the imported users); this counts
/// the users who stay but lose a mapped role.
struct RemovalRail {
    /// Lower-cased names of the roles AD groups map to (none: no rail).
    mapped: BTreeSet<String>,
    percent: u8,
}

/// Fewer removals than this never stop a plan: a small group losing a
/// member or two is daily life.
const RAIL_MIN_REMOVALS: usize = 5;

impl RemovalRail {
    fn of(desired: &Ldap, options: PlanOptions) -> RemovalRail {
        match desired.active_directory.as_ref().filter(|_| !options.allow_drop) {
            Some(ad) => RemovalRail {
                mapped: ad.groups.iter().map(|g| g.role.to_lowercase()).collect(),
                percent: ad.max_removal_percent,
            },
            None => RemovalRail {
                mapped: BTreeSet::new(),
                percent: 100,
            },
        }
    }

    /// Stops the plan when `role` would lose more than `percent` of the
    /// users geosync manages in it (and at least [`RAIL_MIN_REMOVALS`])
    /// while they stay in the directory.
    fn check(&self, role: &str, now: &ObservedGroup, m: &Membership, planned: &mut Planned) {
        if !self.mapped.contains(role) {
            return;
        }
        let managed: Vec<&Key> = now
            .members
            .keys()
            .filter_map(|dn| m.observed_key.get(dn))
            .collect();
        let leaving = managed
            .iter()
            .filter(|key| {
                let stays = m.desired_dn.get(**key).is_some_and(Option::is_some);
                let keeps_role = m.roles.get(**key).is_some_and(|r| r.contains(role));
                stays && !keeps_role
            })
            .count();
        if leaving < RAIL_MIN_REMOVALS || leaving * 100 <= usize::from(self.percent) * managed.len() {
            return;
        }
        let name = m.names.get(role).cloned().unwrap_or_else(|| now.name.clone());
        planned.blockers.push(crate::systems::Blocker {
            message: format!(
                "[ldap.active_directory]: role {name} would be taken from {leaving} of its {} members that geosync manages, \
                 above max_removal_percent = {}%: nothing was changed; check the AD groups mapped to it, \
                 or run with --allow-drop if this is meant",
                managed.len(),
                self.percent
            ),
            addresses: vec![Address::new(ROLE_KIND, &name)],
        });
    }
}

struct Group<'a> {
    kind: &'static str,
    key: &'a str,
    declared: Option<&'a Declared>,
    now: Option<&'a ObservedGroup>,
    parent: String,
}

impl Group<'_> {
    fn plan(&self, options: PlanOptions, membership: &Membership, planned: &mut Planned) {
        let name = self
            .declared
            .map(|d| d.name.clone())
            .or_else(|| self.now.map(|n| n.name.clone()))
            .or_else(|| membership.names.get(self.key).cloned())
            .unwrap_or_else(|| self.key.to_string());
        let address = Address::new(self.kind, &name);
        let mut draft = Draft::new(address.clone());
        let group_dn = match (self.declared, self.now) {
            (_, Some(now)) if !now.dn.is_empty() => {
                if let Some(declared) = self.declared {
                    self.update_entry(declared, now, options, &mut draft, planned);
                }
                now.dn.clone()
            }
            (Some(declared), _) => self.create_entry(declared, &mut draft),
            (None, _) => {
                planned.errors.push(PlanError::Unknown {
                    subject: address.to_string(),
                    what: if self.kind == ROLE_KIND { "role" } else { "org" },
                    name,
                });
                return;
            }
        };
        let empty = BTreeMap::new();
        let members = self.now.map_or(&empty, |n| &n.members);
        self.members(&group_dn, members, membership, &mut draft);
        if draft.action == Action::NoOp && !draft.op.steps.is_empty() {
            draft = draft.doing(
                Action::Update,
                Reason::new("membership", "members geosync manages changed"),
            );
        }
        planned.changes.push(draft.finish());
    }

    fn create_entry(&self, declared: &Declared, draft: &mut Draft) -> String {
        let group_dn = dn::child("cn", &declared.name, &self.parent);
        let classes: &[&str] = if self.kind == ROLE_KIND {
            &["top", "groupOfMembers", "georchestraRole"]
        } else {
            &["top", "groupOfMembers"]
        };
        let mut attrs = vec![
            (
                "objectClass".to_string(),
                classes.iter().map(|c| c.to_string()).collect(),
            ),
            ("cn".to_string(), vec![declared.name.clone()]),
            ("owner".to_string(), vec![OWNER_MARK.to_string()]),
        ];
        if self.kind == ORG_KIND {
            let details = dn::child("o", &declared.name, &self.parent);
            attrs.push(("ou".into(), vec![declared.name.clone()]));
            attrs.push(("seeAlso".into(), vec![details.clone()]));
            draft.step(Step::Add {
                dn: details,
                attrs: vec![
                    (
                        "objectClass".into(),
                        ["top", "organization", "georchestraOrg", "extensibleObject"]
                            .iter()
                            .map(|c| c.to_string())
                            .collect(),
                    ),
                    ("o".into(), vec![declared.name.clone()]),
                    ("owner".into(), vec![OWNER_MARK.to_string()]),
                ],
            });
        } else {
            attrs.push((
                "georchestraObjectIdentifier".into(),
                vec![group_uuid(&declared.name)],
            ));
        }
        for (attr, values) in &declared.attrs {
            if !values.is_empty() {
                draft.field(attr, &[], values);
                attrs.push((attr.clone(), values.clone()));
            }
        }
        draft.step(Step::Add {
            dn: group_dn.clone(),
            attrs,
        });
        draft.action = Action::Create;
        draft.reason = Reason::new("manifest_new", "declared in the manifest");
        group_dn
    }

    fn update_entry(
        &self,
        declared: &Declared,
        now: &ObservedGroup,
        options: PlanOptions,
        draft: &mut Draft,
        planned: &mut Planned,
    ) {
        if !now.owned && !options.adopt {
            planned.warn(
                Some(draft.address.clone()),
                "exists and is not geosync's: its attributes are left alone (--adopt takes it over); the members geosync manages are kept in step",
            );
            return;
        }
        let mut replace = Vec::new();
        for (attr, values) in &declared.attrs {
            let have: Vec<String> = match attr.as_str() {
                "description" => now.description.iter().cloned().collect(),
                "o" => now.title.iter().cloned().collect(),
                _ => Vec::new(),
            };
            if have != *values {
                draft.field(attr, &have, values);
                replace.push((attr.clone(), values.clone()));
            }
        }
        if !now.owned {
            draft.field("owner", &[], &[OWNER_MARK.to_string()]);
            replace.push(("owner".into(), vec![OWNER_MARK.to_string()]));
        }
        if !replace.is_empty() {
            draft.step(Step::Replace {
                dn: now.dn.clone(),
                attrs: replace,
            });
            let reason = if now.owned {
                Reason::new("manifest_change", "differs from the manifest")
            } else {
                Reason::new("adopt", "exists, not geosync's: taken over (--adopt)")
            };
            draft.action = Action::Update;
            draft.reason = reason;
        }
    }

    /// Adds and removes the member values of managed users only.
    fn members(&self, group_dn: &str, members: &BTreeMap<String, String>, m: &Membership, draft: &mut Draft) {
        let belongs = |key: &Key| match self.kind {
            ROLE_KIND => m.roles.get(key).is_some_and(|r| r.contains(self.key)),
            _ => m.orgs.get(key).is_some_and(|o| o == self.key),
        };
        let mut present: BTreeMap<&Key, &String> = BTreeMap::new();
        for (normalized, stored) in members {
            if let Some(key) = m.observed_key.get(normalized) {
                present.insert(key, stored);
            }
        }
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for (key, target) in &m.desired_dn {
            let wanted = target.as_ref().filter(|_| belongs(key));
            let stored = present.get(key);
            match (wanted, stored) {
                (Some(want), Some(have)) if dn::normalize(want) == dn::normalize(have) => {}
                (Some(want), have) => {
                    add.push(want.clone());
                    remove.extend(have.map(|h| (*h).clone()));
                    if m.moved.contains(key) {
                        if let Some(address) = m.address.get(key) {
                            draft.depends_on.insert(address.clone());
                        }
                    }
                }
                (None, Some(have)) => remove.push((*have).clone()),
                (None, None) => {}
            }
        }
        if add.is_empty() && remove.is_empty() {
            return;
        }
        let uids = |dns: &[String]| -> Vec<String> {
            let set: BTreeSet<String> = dns.iter().filter_map(|d| dn::first_value(d)).collect();
            set.into_iter().collect()
        };
        if !add.is_empty() {
            draft.fields.push(FieldChange::new(
                "member +",
                None,
                Some(serde_json::json!(uids(&add))),
            ));
        }
        if !remove.is_empty() {
            draft.fields.push(FieldChange::new(
                "member -",
                Some(serde_json::json!(uids(&remove))),
                None,
            ));
        }
        draft.step(Step::Members {
            dn: group_dn.to_string(),
            add,
            remove,
        });
    }
}

/// georchestraObjectIdentifier of a role geosync creates: stable per name.
fn group_uuid(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("geosync ldap role {name}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Roles and orgs geosync owns that the manifest no longer declares and
/// no managed user needs: deleted with --prune, else reported.
fn plan_unlisted(
    observed: &Observed,
    roles: &BTreeMap<String, Option<Declared>>,
    orgs: &BTreeMap<String, Option<Declared>>,
    desired: &Ldap,
    options: PlanOptions,
    planned: &mut Planned,
) {
    let mut owned: Vec<(&str, &ObservedGroup, Option<String>)> = Vec::new();
    for (key, group) in &observed.roles {
        if group.owned && !roles.contains_key(key) {
            owned.push((ROLE_KIND, group, None));
        }
    }
    for (key, org) in &observed.orgs {
        if org.group.owned && !orgs.contains_key(key) && !org.group.dn.is_empty() {
            let details = org
                .has_details
                .then(|| dn::child("o", &org.group.name, &desired.orgs_dn()));
            owned.push((ORG_KIND, &org.group, details));
        }
    }
    for (kind, group, details) in owned {
        let address = Address::new(kind, &group.name);
        if !options.prune {
            planned.warn(Some(address), "left the manifest: kept (--prune deletes it)");
            continue;
        }
        let mut draft = Draft::new(address).doing(
            Action::Delete,
            Reason::new("manifest_removed", "left the manifest (--prune)"),
        );
        draft.step(Step::Delete { dn: group.dn.clone() });
        if let Some(details) = details {
            draft.step(Step::Delete { dn: details });
        }
        planned.changes.push(draft.finish());
    }
}
