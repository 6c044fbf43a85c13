//! The pure diff with in-memory observed state.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::manifest::source::Location;
use crate::systems::ldap::manifest::{
    ActiveDirectory, AttributeMap, Connection, Policy, Removal, Role, User, DEFAULT_ATTRIBUTES,
};
use crate::systems::ldap::observed::{AdUser, ObservedAd, ObservedGroup, ObservedUser, Owner};

const USERS: &str = "ou=users,dc=x";

fn at() -> Location {
    Location::file_only(std::path::Path::new("m.toml"))
}

fn connection() -> Connection {
    Connection {
        url: "ldap://127.0.0.1".into(),
        starttls: false,
        bind_dn: "cn=admin,dc=x".into(),
        bind_password: None,
        ca_file: None,
        skip_verify: false,
    }
}

fn desired() -> Ldap {
    Ldap {
        connection: connection(),
        base_dn: "dc=x".into(),
        users_rdn: "ou=users".into(),
        roles_rdn: "ou=roles".into(),
        orgs_rdn: "ou=orgs".into(),
        protected: BTreeSet::new(),
        roles: vec![Role {
            name: "USER".into(),
            description: None,
            at: at(),
        }],
        orgs: Vec::new(),
        users: Vec::new(),
        active_directory: None,
    }
}

fn ad(on_removed: Removal, percent: u8) -> ActiveDirectory {
    ActiveDirectory {
        connection: connection(),
        base_dns: vec!["DC=ad".into()],
        filter: "(objectClass=user)".into(),
        page_size: 500,
        realm: "AD.TEST".into(),
        org: "LAB".into(),
        default_roles: BTreeSet::from(["USER".to_string()]),
        member_range: 1500,
        groups: Vec::new(),
        nested_groups: true,
        attributes: DEFAULT_ATTRIBUTES
            .iter()
            .map(|(t, s)| AttributeMap {
                target: t.to_string(),
                source: s.to_string(),
                policy: Policy::Always,
            })
            .collect(),
        on_removed,
        on_disabled: Removal::Disable,
        max_removal_percent: percent,
        allow_missing_mail: true,
    }
}

fn ad_user(sam: &str, guid: &str) -> AdUser {
    let attrs = BTreeMap::from([
        ("samaccountname".to_string(), vec![sam.to_string()]),
        ("cn".to_string(), vec![sam.to_string()]),
    ]);
    AdUser {
        guid: guid.into(),
        dn: format!("CN={sam},DC=ad"),
        attrs,
        disabled: false,
    }
}

/// An imported user as geosync left it.
fn imported(uid: &str, guid: &str) -> ObservedUser {
    let attrs = BTreeMap::from([
        ("uid".to_string(), vec![uid.to_string()]),
        ("cn".to_string(), vec![uid.to_string()]),
        ("sn".to_string(), vec![uid.to_string()]),
        (
            "employeetype".to_string(),
            vec!["geosync:active-directory".to_string()],
        ),
        ("georchestraobjectidentifier".to_string(), vec![guid.to_string()]),
        ("userpassword".to_string(), vec![format!("{{SASL}}{uid}@AD.TEST")]),
    ]);
    ObservedUser {
        dn: format!("uid={uid},{USERS}"),
        uid: uid.into(),
        attrs,
        owner: Some(Owner::ActiveDirectory),
        password_ok: None,
    }
}

fn observed_with(users: Vec<ObservedUser>, ad_users: Vec<AdUser>) -> Observed {
    let mut observed = Observed::default();
    let mut role = ObservedGroup {
        dn: "cn=USER,ou=roles,dc=x".into(),
        name: "USER".into(),
        owned: true,
        ..Default::default()
    };
    role.members.insert(
        crate::systems::ldap::dn::normalize("uid=console,ou=users,dc=x"),
        "uid=console,ou=users,dc=x".into(),
    );
    for user in &users {
        role.members
            .insert(crate::systems::ldap::dn::normalize(&user.dn), user.dn.clone());
    }
    observed.roles.insert("user".into(), role);
    observed.orgs.insert(
        "lab".into(),
        crate::systems::ldap::observed::ObservedOrg {
            group: ObservedGroup {
                dn: "cn=LAB,ou=orgs,dc=x".into(),
                name: "LAB".into(),
                owned: true,
                members: users
                    .iter()
                    .map(|u| (crate::systems::ldap::dn::normalize(&u.dn), u.dn.clone()))
                    .collect(),
                ..Default::default()
            },
            has_details: true,
        },
    );
    for user in users {
        observed
            .users
            .insert(crate::systems::ldap::dn::normalize(&user.dn), user);
    }
    observed.ad = Some(ObservedAd {
        users: ad_users,
        group_members: BTreeMap::new(),
    });
    observed
}

fn find<'a>(planned: &'a Planned, address: &str) -> &'a Change {
    planned
        .changes
        .iter()
        .find(|c| c.address.to_string() == address)
        .unwrap_or_else(|| panic!("no change for {address}"))
}

fn steps(change: &Change) -> &[Step] {
    &change
        .operation
        .as_ref()
        .unwrap()
        .downcast::<LdapOp>()
        .unwrap()
        .steps
}

#[test]
fn a_manifest_user_is_created_with_its_password_hidden() {
    let mut state = desired();
    state.orgs.push(crate::systems::ldap::manifest::Org {
        name: "LAB".into(),
        title: "Lab".into(),
        description: None,
        at: at(),
    });
    state.users.push(User {
        uid: "georchestra-ouvert".into(),
        org: "LAB".into(),
        roles: BTreeSet::from(["USER".to_string()]),
        password: Some(crate::manifest::secret::Secret::placeholder()),
        given_name: "g".into(),
        sn: "s".into(),
        cn: "c".into(),
        mail: None,
        description: None,
        at: at(),
    });
    let planned = plan(
        &state,
        &observed_with(Vec::new(), Vec::new()),
        PlanOptions::default(),
    );
    let user = find(&planned, "ldap.user:georchestra-ouvert");
    assert_eq!(user.action, Action::Create);
    assert!(user
        .fields
        .iter()
        .any(|f| f.name == "userPassword" && f.sensitive && f.after.is_none()));
    assert!(matches!(steps(user)[1], Step::SetPassword { .. }));
    let role = find(&planned, "ldap.role:USER");
    assert_eq!(role.action, Action::Update);
    assert_eq!(role.depends_on, vec![user.address.clone()]);
}

#[test]
fn a_rename_in_ad_is_a_rename_here_and_memberships_stay() {
    let mut state = desired();
    state.active_directory = Some(ad(Removal::Disable, 10));
    let observed = observed_with(vec![imported("bob", "g-1")], vec![ad_user("robert", "g-1")]);
    let planned = plan(&state, &observed, PlanOptions::default());
    let user = find(&planned, "ldap.user:robert");
    assert_eq!(user.action, Action::Update);
    assert!(matches!(&steps(user)[0], Step::Rename { rdn, .. } if rdn == "uid=robert"));
    let role = find(&planned, "ldap.role:USER");
    // The member value moves from the old DN to the new one, nothing else.
    match &steps(role)[0] {
        Step::Members { add, remove, .. } => {
            assert_eq!(add, &vec![format!("uid=robert,{USERS}")]);
            assert_eq!(remove, &vec![format!("uid=bob,{USERS}")]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn console_members_are_never_touched_and_removals_respect_the_threshold() {
    let mut state = desired();
    state.active_directory = Some(ad(Removal::Delete, 40));
    let users = vec![imported("a", "g-a"), imported("b", "g-b"), imported("c", "g-c")];
    let still = vec![ad_user("a", "g-a"), ad_user("b", "g-b")];
    let planned = plan(
        &state,
        &observed_with(users.clone(), still),
        PlanOptions::default(),
    );
    assert!(planned.blockers.is_empty());
    assert_eq!(find(&planned, "ldap.user:c").action, Action::Delete);
    match &steps(find(&planned, "ldap.role:USER"))[0] {
        Step::Members { add, remove, .. } => {
            assert!(add.is_empty());
            assert_eq!(remove, &vec![format!("uid=c,{USERS}")]);
        }
        other => panic!("{other:?}"),
    }
    // Two of three gone is above 40%: blocked unless --allow-drop.
    let planned = plan(
        &state,
        &observed_with(users.clone(), vec![ad_user("a", "g-a")]),
        PlanOptions::default(),
    );
    assert_eq!(planned.blockers.len(), 1);
    assert!(planned.blockers[0].message.contains("2 of 3"));
    let allow = PlanOptions {
        allow_drop: true,
        ..Default::default()
    };
    let planned = plan(&state, &observed_with(users, vec![ad_user("a", "g-a")]), allow);
    assert!(planned.blockers.is_empty());
}

#[test]
fn without_changes_everything_is_a_no_op() {
    let mut state = desired();
    state.active_directory = Some(ad(Removal::Disable, 10));
    let mut user = imported("a", "g-a");
    user.attrs.insert("cn".into(), vec!["a".into()]);
    let planned = plan(
        &state,
        &observed_with(vec![user], vec![ad_user("a", "g-a")]),
        PlanOptions::default(),
    );
    assert!(planned.warnings.is_empty(), "{:?}", planned.warnings);
    for change in &planned.changes {
        assert_eq!(change.action, Action::NoOp, "{change:?}");
    }
}
