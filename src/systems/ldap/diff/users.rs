//! Users: the manifest's (pseudo-users) and those imported from AD;
//! creation, attribute updates by policy, renames, write-only passwords,
//! disabling and deletion under the policies, the removal threshold.

use std::collections::{BTreeMap, BTreeSet};

use super::{Draft, Key, Membership, Planned, Step};
use crate::manifest::secret::Secret;
use crate::plan::{Action, Address, FieldChange, PlanOptions, Reason};
use crate::systems::ldap::dn;
use crate::systems::ldap::manifest::{ActiveDirectory, Ldap, Policy, Removal, User, USER_KIND};
use crate::systems::ldap::observed::{
    AdUser, Observed, ObservedAd, ObservedUser, Owner, DISABLED_EXPIRY, MARK_AD, MARK_MANIFEST,
};
use crate::systems::Blocker;

const OBJECT_CLASSES: &[&str] = &[
    "top",
    "person",
    "organizationalPerson",
    "inetOrgPerson",
    "shadowAccount",
    "georchestraUser",
];

/// A user as it should be.
struct Want<'a> {
    key: Key,
    uid: String,
    dn: String,
    /// Attribute, values, when to write them.
    attrs: Vec<(String, Vec<String>, Policy)>,
    mark: &'static str,
    object_id: String,
    password: Option<&'a Secret>,
    /// `{SASL}uid@REALM` of an imported user.
    sasl: Option<String>,
    roles: BTreeSet<String>,
    org: String,
    disabled: bool,
    created: Reason,
    changed: Reason,
}

pub(super) fn plan_users(
    desired: &Ldap,
    observed: &Observed,
    options: PlanOptions,
    membership: &mut Membership,
    planned: &mut Planned,
) {
    // Normalized DNs of the observed users this run has decided about.
    let mut claimed = BTreeSet::new();
    for user in &desired.users {
        let want = manifest_want(desired, user);
        let dn_key = dn::normalize(&want.dn);
        claimed.insert(dn_key.clone());
        match observed.users.get(&dn_key) {
            None => create(want, membership, planned),
            Some(now) if now.owner == Some(Owner::Manifest) => update(want, now, membership, planned),
            Some(now) if now.owner.is_none() && options.adopt => update(want, now, membership, planned),
            Some(now) => planned.warn(
                Some(Address::new(USER_KIND, &want.uid)),
                format!(
                    "{} exists and is not geosync's ({}): left alone{}",
                    now.dn,
                    if now.owner.is_some() {
                        "imported from AD"
                    } else {
                        "created elsewhere"
                    },
                    if now.owner.is_none() {
                        "; --adopt takes it over"
                    } else {
                        ""
                    }
                ),
            ),
        }
    }
    if let (Some(ad), Some(seen)) = (&desired.active_directory, &observed.ad) {
        plan_imported(
            desired,
            ad,
            seen,
            observed,
            options,
            &mut claimed,
            membership,
            planned,
        );
    }
    plan_unlisted(desired, observed, options, &claimed, membership, planned);
}

fn manifest_want<'a>(desired: &Ldap, user: &'a User) -> Want<'a> {
    let mut attrs = vec![
        ("cn".to_string(), vec![user.cn.clone()], Policy::Always),
        ("sn".to_string(), vec![user.sn.clone()], Policy::Always),
        (
            "givenName".to_string(),
            vec![user.given_name.clone()],
            Policy::Always,
        ),
    ];
    for (name, value) in [("mail", &user.mail), ("description", &user.description)] {
        attrs.push((name.to_string(), value.iter().cloned().collect(), Policy::Always));
    }
    Want {
        key: format!("m:{}", user.uid.to_lowercase()),
        dn: dn::child("uid", &user.uid, &desired.users_dn()),
        uid: user.uid.clone(),
        attrs,
        mark: MARK_MANIFEST,
        object_id: derived_uuid(&user.uid),
        password: user.password.as_ref(),
        sasl: None,
        roles: user.roles.clone(),
        org: user.org.clone(),
        disabled: false,
        created: Reason::new("manifest_new", "declared in the manifest"),
        changed: Reason::new("manifest_change", "differs from the manifest"),
    }
}

/// A stable identifier for an entry the manifest declares: the same uid
/// gives the same georchestraObjectIdentifier on every rebuild.
fn derived_uuid(uid: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("geosync ldap user {uid}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80; // version 8: custom
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
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

fn create(want: Want, membership: &mut Membership, planned: &mut Planned) {
    let address = Address::new(USER_KIND, &want.uid);
    let mut draft = Draft::new(address.clone()).doing(Action::Create, want.created.clone());
    let mut attrs: Vec<(String, Vec<String>)> = vec![
        (
            "objectClass".into(),
            OBJECT_CLASSES.iter().map(|c| c.to_string()).collect(),
        ),
        ("uid".into(), vec![want.uid.clone()]),
        ("employeeType".into(), vec![want.mark.to_string()]),
        ("georchestraObjectIdentifier".into(), vec![want.object_id.clone()]),
    ];
    draft.field("uid", &[], std::slice::from_ref(&want.uid));
    for (name, values, _) in &want.attrs {
        if !values.is_empty() {
            draft.field(name, &[], values);
            attrs.push((name.clone(), values.clone()));
        }
    }
    if let Some(sasl) = &want.sasl {
        attrs.push(("userPassword".into(), vec![sasl.clone()]));
        draft.fields.push(FieldChange::sensitive("userPassword"));
    }
    draft.step(Step::Add {
        dn: want.dn.clone(),
        attrs,
    });
    if let Some(password) = want.password {
        draft.fields.push(FieldChange::sensitive("userPassword"));
        draft.step(Step::SetPassword {
            dn: want.dn.clone(),
            password: password.clone(),
        });
    }
    membership.moved.insert(want.key.clone());
    record(&want, None, address, membership);
    planned.changes.push(draft.finish());
}

/// Notes a managed user for the group diff.
fn record(want: &Want, now: Option<&ObservedUser>, address: Address, membership: &mut Membership) {
    if let Some(now) = now {
        membership
            .observed_key
            .insert(dn::normalize(&now.dn), want.key.clone());
    }
    membership
        .desired_dn
        .insert(want.key.clone(), Some(want.dn.clone()));
    let roles = if want.disabled {
        BTreeSet::new()
    } else {
        want.roles.iter().map(|r| r.to_lowercase()).collect()
    };
    membership.roles.insert(want.key.clone(), roles);
    membership.orgs.insert(want.key.clone(), want.org.to_lowercase());
    for name in want.roles.iter().chain([&want.org]) {
        membership
            .names
            .entry(name.to_lowercase())
            .or_insert_with(|| name.clone());
    }
    membership.address.insert(want.key.clone(), address);
}

fn update(mut want: Want, now: &ObservedUser, membership: &mut Membership, planned: &mut Planned) {
    let address = Address::new(USER_KIND, &want.uid);
    let mut draft = Draft::new(address.clone());
    let mut replace: Vec<(String, Vec<String>)> = Vec::new();
    if now.uid != want.uid {
        let rdn = dn::rdn("uid", &want.uid);
        want.dn = format!("{rdn},{}", dn::parent(&now.dn));
        draft.field(
            "uid",
            std::slice::from_ref(&now.uid),
            std::slice::from_ref(&want.uid),
        );
        draft.step(Step::Rename {
            dn: now.dn.clone(),
            rdn,
        });
        membership.moved.insert(want.key.clone());
    }
    for (name, values, policy) in &want.attrs {
        let have = now.values(name);
        let write = match policy {
            Policy::Always => !same_values(have, values),
            Policy::OnCreate => false,
            Policy::Keep => have.is_empty() && !values.is_empty(),
        };
        if write {
            draft.field(name, have, values);
            replace.push((name.clone(), values.clone()));
        }
    }
    let marks = now.values("employeeType");
    if !marks.iter().any(|m| m == want.mark) {
        let mut with_mark = marks.to_vec();
        with_mark.retain(|m| m != MARK_AD && m != MARK_MANIFEST);
        with_mark.push(want.mark.to_string());
        draft.field("employeeType", marks, &with_mark);
        replace.push(("employeeType".into(), with_mark));
    }
    if want.mark == MARK_AD && now.object_id() != Some(want.object_id.as_str()) {
        let before: Vec<String> = now.object_id().into_iter().map(String::from).collect();
        draft.field("georchestraObjectIdentifier", &before, &[want.object_id.clone()]);
        replace.push(("georchestraObjectIdentifier".into(), vec![want.object_id.clone()]));
    }
    if let Some(sasl) = &want.sasl {
        if now.first("userPassword") != Some(sasl.as_str()) {
            draft.fields.push(FieldChange::sensitive("userPassword"));
            replace.push(("userPassword".into(), vec![sasl.clone()]));
        }
    }
    let disabling = want.disabled && !now.disabled();
    if want.disabled != now.disabled() {
        let expiry: Vec<String> = want
            .disabled
            .then(|| DISABLED_EXPIRY.to_string())
            .into_iter()
            .collect();
        draft.field("shadowExpire", now.values("shadowExpire"), &expiry);
        replace.push(("shadowExpire".into(), expiry));
    }
    if !replace.is_empty() {
        draft.step(Step::Replace {
            dn: want.dn.clone(),
            attrs: replace,
        });
    }
    if let (Some(password), Some(false)) = (want.password, now.password_ok) {
        draft.fields.push(FieldChange::sensitive("userPassword"));
        draft.step(Step::SetPassword {
            dn: want.dn.clone(),
            password: password.clone(),
        });
    }
    if !draft.op.steps.is_empty() {
        let reason = if disabling {
            Reason::new(
                "disable",
                "disabled in AD: disabled here (on_disabled = \"disable\")",
            )
        } else if now.owner.is_none() {
            Reason::new("adopt", "exists, not geosync's: taken over (--adopt)")
        } else {
            want.changed.clone()
        };
        draft = draft.doing(Action::Update, reason);
    }
    record(&want, Some(now), address, membership);
    planned.changes.push(draft.finish());
}

fn same_values(have: &[String], want: &[String]) -> bool {
    let have: BTreeSet<&String> = have.iter().collect();
    let want: BTreeSet<&String> = want.iter().collect();
    have == want
}

/// Users imported from AD: matched by objectGUID, created, updated,
/// renamed, disabled or deleted, within the removal threshold.
#[allow(clippy::too_many_arguments)]
fn plan_imported(
    desired: &Ldap,
    ad: &ActiveDirectory,
    seen: &ObservedAd,
    observed: &Observed,
    options: PlanOptions,
    claimed: &mut BTreeSet<String>,
    membership: &mut Membership,
    planned: &mut Planned,
) {
    let by_guid: BTreeMap<String, &ObservedUser> = observed
        .users
        .values()
        .filter(|u| u.owner == Some(Owner::ActiveDirectory))
        .filter_map(|u| u.object_id().map(|id| (id.to_lowercase(), u)))
        .collect();
    let manifest_uids: BTreeSet<String> = desired.users.iter().map(|u| u.uid.to_lowercase()).collect();
    let mut in_ad = BTreeSet::new();
    let mut removals = Vec::new();
    for user in &seen.users {
        in_ad.insert(user.guid.to_lowercase());
        let now = by_guid.get(&user.guid.to_lowercase()).copied();
        if let Some(now) = now {
            claimed.insert(dn::normalize(&now.dn));
        }
        let mut want = match ad_want(desired, ad, seen, user) {
            Ok(want) => want,
            Err(why) => {
                planned.warn(None, format!("AD user {}: {why}; skipped", user.dn));
                continue;
            }
        };
        let address = Address::new(USER_KIND, &want.uid);
        // A protected user may be imported, but is never changed after.
        if now.is_some_and(|n| desired.protected.contains(&n.uid.to_lowercase())) {
            continue;
        }
        if manifest_uids.contains(&want.uid.to_lowercase()) {
            planned.warn(
                Some(address),
                format!("AD user {} has the uid of a [[ldap.user]]: skipped", user.dn),
            );
            continue;
        }
        if user.disabled {
            match ad.on_disabled {
                Removal::Keep => {}
                Removal::Disable => want.disabled = true,
                Removal::Delete => {
                    if let Some(now) = now {
                        removals.push(delete(
                            now,
                            Reason::new("disabled_in_ad", "disabled in AD (on_disabled = \"delete\")"),
                            membership,
                            planned,
                        ));
                    }
                    continue;
                }
            }
            if now.is_none() {
                continue; // A disabled account is not imported.
            }
        }
        let target = dn::normalize(&want.dn);
        match now {
            Some(now) => {
                if want.disabled && !now.disabled() {
                    removals.push(address.clone());
                }
                update(want, now, membership, planned)
            }
            None => place_new(want, target, observed, options, claimed, membership, planned),
        }
    }
    plan_left_ad(
        desired,
        ad,
        &by_guid,
        &in_ad,
        claimed,
        membership,
        planned,
        &mut removals,
    );
    check_threshold(ad, by_guid.len(), removals, options, planned);
}

/// An AD user geosync has no entry for yet: created, unless its DN is
/// taken by an entry geosync does not own (adopted only with --adopt).
fn place_new(
    want: Want,
    target: String,
    observed: &Observed,
    options: PlanOptions,
    claimed: &mut BTreeSet<String>,
    membership: &mut Membership,
    planned: &mut Planned,
) {
    let address = Address::new(USER_KIND, &want.uid);
    match observed.users.get(&target) {
        Some(other) if other.owner.is_none() && options.adopt => {
            claimed.insert(target);
            update(want, other, membership, planned)
        }
        Some(other) => {
            claimed.insert(target);
            planned.warn(
                Some(address),
                format!(
                    "{} already exists and is not this AD user's: left alone",
                    other.dn
                ),
            );
        }
        None => {
            claimed.insert(target);
            create(want, membership, planned)
        }
    }
}

/// Imported users AD no longer lists: kept, disabled or deleted as
/// `on_removed` says; protected ones are always kept.
#[allow(clippy::too_many_arguments)]
fn plan_left_ad(
    desired: &Ldap,
    ad: &ActiveDirectory,
    by_guid: &BTreeMap<String, &ObservedUser>,
    in_ad: &BTreeSet<String>,
    claimed: &mut BTreeSet<String>,
    membership: &mut Membership,
    planned: &mut Planned,
    removals: &mut Vec<Address>,
) {
    for now in by_guid.values() {
        let Some(id) = now.object_id() else { continue };
        if in_ad.contains(&id.to_lowercase()) {
            continue;
        }
        claimed.insert(dn::normalize(&now.dn));
        if desired.protected.contains(&now.uid.to_lowercase()) {
            planned.warn(
                Some(Address::new(USER_KIND, &now.uid)),
                "left AD, but protected: kept",
            );
            continue;
        }
        let left = Reason::new(
            "left_ad",
            format!("left AD (on_removed = \"{}\")", policy_name(ad.on_removed)),
        );
        match ad.on_removed {
            Removal::Keep => {}
            Removal::Disable if !now.disabled() => {
                removals.push(disable(now, &ad.org, left, membership, planned))
            }
            Removal::Disable => {}
            Removal::Delete => removals.push(delete(now, left, membership, planned)),
        }
    }
}

fn policy_name(removal: Removal) -> &'static str {
    match removal {
        Removal::Keep => "keep",
        Removal::Disable => "disable",
        Removal::Delete => "delete",
    }
}

/// More removals than the manifest allows in one run stop the plan
/// (a wrong base DN or filter would otherwise empty the directory), unless
/// `--allow-drop` says it is meant.
fn check_threshold(
    ad: &ActiveDirectory,
    imported: usize,
    removals: Vec<crate::plan::Address>,
    options: PlanOptions,
    planned: &mut Planned,
) {
    let share = u64::from(ad.max_removal_percent);
    if removals.is_empty() || options.allow_drop || (removals.len() as u64) * 100 <= share * imported as u64 {
        return;
    }
    planned.blockers.push(Blocker {
        message: format!(
            "[ldap.active_directory]: {} of {} imported users would be disabled or deleted, above max_removal_percent = {}%: nothing was changed; check the AD source, or run with --allow-drop if this is meant",
            removals.len(),
            imported,
            share
        ),
        addresses: removals,
    });
}

fn disable(
    now: &ObservedUser,
    org: &str,
    reason: Reason,
    membership: &mut Membership,
    planned: &mut Planned,
) -> Address {
    let address = Address::new(USER_KIND, &now.uid);
    let mut draft = Draft::new(address.clone()).doing(Action::Update, Reason::new("disable", reason.message));
    draft.field(
        "shadowExpire",
        now.values("shadowExpire"),
        &[DISABLED_EXPIRY.to_string()],
    );
    draft.step(Step::Replace {
        dn: now.dn.clone(),
        attrs: vec![("shadowExpire".into(), vec![DISABLED_EXPIRY.into()])],
    });
    let key = format!("ad:{}", now.object_id().unwrap_or_default().to_lowercase());
    membership
        .observed_key
        .insert(dn::normalize(&now.dn), key.clone());
    membership.desired_dn.insert(key.clone(), Some(now.dn.clone()));
    membership.roles.insert(key.clone(), BTreeSet::new());
    // A disabled user stays in its org: geOrchestra wants one per user.
    membership.orgs.insert(key.clone(), org.to_lowercase());
    membership.address.insert(key, address.clone());
    planned.changes.push(draft.finish());
    address
}

fn delete(now: &ObservedUser, reason: Reason, membership: &mut Membership, planned: &mut Planned) -> Address {
    let address = Address::new(USER_KIND, &now.uid);
    let mut draft = Draft::new(address.clone()).doing(Action::Delete, reason);
    draft.step(Step::Delete { dn: now.dn.clone() });
    let key = match now.owner {
        Some(Owner::ActiveDirectory) => format!("ad:{}", now.object_id().unwrap_or_default().to_lowercase()),
        _ => format!("m:{}", now.uid.to_lowercase()),
    };
    membership
        .observed_key
        .insert(dn::normalize(&now.dn), key.clone());
    membership.desired_dn.insert(key.clone(), None);
    membership.roles.insert(key.clone(), BTreeSet::new());
    membership.address.insert(key, address.clone());
    planned.changes.push(draft.finish());
    address
}

/// Maps an AD entry to the user it makes, or says why it is skipped.
fn ad_want<'a>(
    desired: &Ldap,
    ad: &ActiveDirectory,
    seen: &ObservedAd,
    user: &AdUser,
) -> Result<Want<'a>, String> {
    let uid = user
        .first("sAMAccountName")
        .ok_or("has no sAMAccountName")?
        .to_lowercase();
    let mut attrs = Vec::new();
    for map in &ad.attributes {
        let mut values = user
            .attrs
            .get(&map.source.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default();
        let target = map.target.to_ascii_lowercase();
        if values.is_empty() && (target == "sn" || target == "cn") {
            // inetOrgPerson requires both: sn from cn, cn from the uid.
            let fallback = if target == "sn" { user.first("cn") } else { None };
            values = vec![fallback.unwrap_or(&uid).to_string()];
        }
        if target == "mail" && values.is_empty() && !ad.allow_missing_mail {
            return Err("has no mail (allow_missing_mail = true imports it)".into());
        }
        attrs.push((map.target.clone(), values, map.policy));
    }
    for required in ["cn", "sn"] {
        if !attrs.iter().any(|(t, _, _)| t.eq_ignore_ascii_case(required)) {
            attrs.push((required.to_string(), vec![uid.clone()], Policy::OnCreate));
        }
    }
    let member_dn = dn::normalize(&user.dn);
    let mut roles: BTreeSet<String> = ad.default_roles.iter().map(|r| r.to_lowercase()).collect();
    for mapping in &ad.groups {
        if seen
            .group_members
            .get(&mapping.dn)
            .is_some_and(|m| m.contains(&member_dn))
        {
            roles.insert(mapping.role.to_lowercase());
        }
    }
    Ok(Want {
        key: format!("ad:{}", user.guid.to_lowercase()),
        dn: dn::child("uid", &uid, &desired.users_dn()),
        sasl: Some(format!("{{SASL}}{uid}@{}", ad.realm)),
        uid,
        attrs,
        mark: MARK_AD,
        object_id: user.guid.to_lowercase(),
        password: None,
        roles,
        org: ad.org.clone(),
        disabled: false,
        created: Reason::new("new_in_ad", "new in AD"),
        changed: Reason::new("changed_in_ad", "changed in AD"),
    })
}

/// Users geosync owns that no source lists any more: the manifest's are
/// deleted with --prune; imported ones without an AD source are left.
fn plan_unlisted(
    desired: &Ldap,
    observed: &Observed,
    options: PlanOptions,
    claimed: &BTreeSet<String>,
    membership: &mut Membership,
    planned: &mut Planned,
) {
    for (key, now) in &observed.users {
        if claimed.contains(key) || now.owner != Some(Owner::Manifest) {
            continue;
        }
        let address = Address::new(USER_KIND, &now.uid);
        if desired.protected.contains(&now.uid.to_lowercase()) {
            planned.warn(Some(address), "left the manifest, but protected: kept");
        } else if options.prune {
            delete(
                now,
                Reason::new("manifest_removed", "left the manifest (--prune)"),
                membership,
                planned,
            );
        } else {
            planned.warn(Some(address), "left the manifest: kept (--prune deletes it)");
        }
    }
}
