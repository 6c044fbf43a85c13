//! The managed block of pg_hba.conf: rendered from `[[postgres.hba]]`,
//! kept between two marker lines, everything outside it left byte for byte.
//! Before a block is accepted, geosync checks it would not lock geosync
//! itself out.

use std::net::IpAddr;

use super::observed::ObservedHba;
use crate::plan::{fingerprint, unified_diff, Action, Address, Change, Operation, Reason};
use crate::systems::postgres::manifest::{HbaRule, PgConnection};

pub const KIND: &str = "postgres.hba";
const BEGIN: &str = "# BEGIN geosync managed block: edits between these lines are overwritten";
const END: &str = "# END geosync managed block";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HbaPlanError {
    #[error("{location}: the geosync block is damaged ({problem}); fix the marker lines by hand")]
    DamagedBlock { location: String, problem: String },
    #[error("the pg_hba rules would lock geosync out: {why}")]
    LockOut { why: String },
}

/// Writing a new pg_hba.conf; `expected` is what the plan saw, so a file
/// changed since the plan is not overwritten.
#[derive(Debug, Clone)]
pub struct HbaWrite {
    pub expected: Vec<u8>,
    pub content: Vec<u8>,
    pub rule_lines: RuleLines,
}

impl HbaWrite {
    /// A line PostgreSQL refused, with where it comes from.
    pub fn describe_line(&self, line: usize) -> String {
        let text = self
            .content
            .split(|b| *b == b'\n')
            .nth(line.saturating_sub(1))
            .map(|l| String::from_utf8_lossy(l).trim().to_string())
            .unwrap_or_default();
        let origin = self.rule_lines.iter().find(|(l, _)| *l == line).map_or(
            ", outside the geosync block: fix it by hand".to_string(),
            |(_, at)| format!(", from {at}"),
        );
        format!("line {line} `{text}`{origin}")
    }
}

/// 1-based line number of each rule in the file -> its place in the manifest.
pub type RuleLines = Vec<(usize, String)>;

/// Column widths of the stock file; a longer value still gets a space.
const WIDTHS: [usize; 4] = [8, 16, 16, 24];

/// One rule as a pg_hba.conf line, columns aligned like the stock file and
/// always separated, however long a value is.
pub fn render_rule(rule: &HbaRule) -> String {
    let columns = [
        rule.kind.as_str(),
        rule.database.as_str(),
        rule.user.as_str(),
        rule.address.as_deref().unwrap_or(""),
    ];
    let mut line = String::new();
    for (value, width) in columns.iter().zip(WIDTHS) {
        line.push_str(value);
        let pad = width.saturating_sub(value.len()).max(1);
        line.extend(std::iter::repeat_n(' ', pad));
    }
    line.push_str(&rule.method);
    if let Some(options) = &rule.options {
        line.push(' ');
        line.push_str(options);
    }
    line.trim_end().to_string()
}

/// A line without its end of line and trailing blanks, for marker checks.
fn trimmed(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &line[..end]
}

fn is_rule(line: &[u8]) -> bool {
    let text = trimmed(line);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    start.is_some_and(|i| text[i] != b'#')
}

/// The file with its block replaced by `rules` (or inserted before the
/// first rule when there is none), and each rule's line number. Bytes
/// outside the block are copied as they are, whatever their encoding.
pub fn with_block(
    location: &str,
    current: &[u8],
    rules: &[HbaRule],
) -> Result<(Vec<u8>, RuleLines), HbaPlanError> {
    let lines: Vec<&[u8]> = current.split_inclusive(|b| *b == b'\n').collect();
    let find = |marker: &str| -> Vec<usize> {
        lines
            .iter()
            .enumerate()
            .filter(|(_, l)| trimmed(l) == marker.as_bytes())
            .map(|(i, _)| i)
            .collect()
    };
    let damaged = |problem: &str| HbaPlanError::DamagedBlock {
        location: location.to_string(),
        problem: problem.to_string(),
    };
    let (before, after) = match (find(BEGIN).as_slice(), find(END).as_slice()) {
        ([], []) => {
            // A new block goes before the first rule, so it takes precedence.
            let first_rule = lines.iter().position(|l| is_rule(l)).unwrap_or(lines.len());
            (&lines[..first_rule], &lines[first_rule..])
        }
        ([begin], [end]) if begin < end => (&lines[..*begin], &lines[end + 1..]),
        ([_], [_]) => return Err(damaged("END comes before BEGIN")),
        _ => return Err(damaged("expected one BEGIN and one END marker")),
    };
    let mut out: Vec<u8> = before.concat();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let mut line = out.iter().filter(|b| **b == b'\n').count();
    let mut rule_lines = Vec::new();
    let mut block = format!("{BEGIN}\n");
    line += 1;
    for rule in rules {
        block.push_str(&render_rule(rule));
        block.push('\n');
        line += 1;
        rule_lines.push((line, rule.at.to_string()));
    }
    block.push_str(END);
    block.push('\n');
    out.extend_from_slice(block.as_bytes());
    out.extend_from_slice(&after.concat());
    Ok((out, rule_lines))
}

pub fn plan(
    current: &ObservedHba,
    rules: &[HbaRule],
    connection: &PgConnection,
    client_addr: Option<IpAddr>,
) -> Result<Change, HbaPlanError> {
    let location = current.location.as_str();
    let (content, rule_lines) = with_block(location, &current.content, rules)?;
    let shown = String::from_utf8_lossy(&content);
    check_not_locked_out(&shown, connection, client_addr)?;
    let address = Address::new(KIND, "pg_hba.conf");
    let (action, reason) = action(current, &content);
    let before = String::from_utf8_lossy(&current.content);
    Ok(Change {
        fingerprint: fingerprint(&[
            address.to_string().as_bytes(),
            reason.code.as_bytes(),
            &current.content,
            &content,
        ]),
        content_diff: (content != current.content).then(|| unified_diff(&before, &shown, location)),
        address,
        action,
        reason,
        fields: Vec::new(),
        depends_on: Vec::new(),
        preflight: false,
        operation: (action != Action::NoOp).then(|| {
            Operation::new(HbaWrite {
                expected: current.content.clone(),
                content,
                rule_lines,
            })
        }),
    })
}

/// What the write does and why. A file PostgreSQL reports errors for, or
/// one an interrupted apply left unchecked, is written and checked again
/// even when its block is already as declared.
fn action(current: &ObservedHba, content: &[u8]) -> (Action, Reason) {
    let location = &current.location;
    if let Some((line, error)) = current.errors.first() {
        return (
            Action::Update,
            Reason::new(
                "rejected",
                format!("PostgreSQL reports errors in {location} (line {line}: {error}): it is repaired and checked again"),
            ),
        );
    }
    if current.interrupted {
        return (
            Action::Update,
            Reason::new(
                "interrupted",
                format!("an earlier apply stopped before {location} was checked and loaded: it is written, checked and loaded again"),
            ),
        );
    }
    if content == current.content {
        (
            Action::NoOp,
            Reason::new("in_sync", format!("{location}: the managed block is up to date")),
        )
    } else if !current
        .content
        .split(|b| *b == b'\n')
        .any(|l| trimmed(l) == BEGIN.as_bytes())
    {
        (
            Action::Create,
            Reason::new("absent", format!("{location} has no geosync block yet")),
        )
    } else {
        (
            Action::Update,
            Reason::new("differs", format!("{location}: the managed block differs")),
        )
    }
}

/// How sure the simulation is that a field matches geosync's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    Yes,
    No,
    /// Depends on things geosync does not evaluate (groups, host names, files).
    Unknown,
}

/// Replays PostgreSQL's first-match rule for geosync's own connection. A
/// definite first match that rejects, or needs a password geosync does not
/// have, or no match at all, is a lock-out. A rule geosync cannot evaluate
/// stops the check (no false alarm).
fn check_not_locked_out(
    content: &str,
    connection: &PgConnection,
    client_addr: Option<IpAddr>,
) -> Result<(), HbaPlanError> {
    let over_socket = connection.host.starts_with('/');
    let who = format!(
        "user {} to database {} from {}",
        connection.user,
        connection.maintenance_db,
        if over_socket {
            "the local socket".to_string()
        } else {
            client_addr.map_or("an unknown address".to_string(), |a| a.to_string())
        }
    );
    for (number, raw) in content.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let method = match first_match(line, connection, client_addr, over_socket) {
            Verdict::Skip => continue,
            Verdict::Unknown => return Ok(()),
            Verdict::Matches(method) => method,
        };
        let rule = format!("line {}: `{}`", number + 1, line);
        return match method {
            "reject" => Err(HbaPlanError::LockOut {
                why: format!("{rule} is the first to match {who}, and rejects it"),
            }),
            "scram-sha-256" | "md5" | "password" if connection.password.is_none() => Err(HbaPlanError::LockOut {
                why: format!("{rule} is the first to match {who}, and asks for a password [postgres] does not give"),
            }),
            _ => Ok(()),
        };
    }
    Err(HbaPlanError::LockOut {
        why: format!("no rule matches {who}"),
    })
}

/// What one line of pg_hba.conf (comment removed) says about geosync's
/// connection.
enum Verdict<'a> {
    /// Not a rule, or one that does not match.
    Skip,
    /// Depends on what geosync does not evaluate: the check stops there.
    Unknown,
    /// Matches, with this method.
    Matches(&'a str),
}

fn first_match<'a>(
    line: &'a str,
    connection: &PgConnection,
    client_addr: Option<IpAddr>,
    over_socket: bool,
) -> Verdict<'a> {
    if line.is_empty() {
        return Verdict::Skip;
    }
    if line.contains('"') || line.contains('@') {
        return Verdict::Unknown;
    }
    let fields: Vec<&str> = line.split_whitespace().collect();
    let kind = fields[0];
    let type_match = match (kind, over_socket) {
        ("local", true) => Match::Yes,
        ("local", false) | (_, true) => Match::No,
        ("host" | "hostnossl" | "hostnogssenc", false) => Match::Yes,
        _ => Match::No,
    };
    if type_match == Match::No {
        return Verdict::Skip;
    }
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    let (address_match, method_at) = if kind == "local" {
        (Match::Yes, 3)
    } else {
        let mask = fields.get(4).copied().filter(|m| m.parse::<IpAddr>().is_ok());
        let address_match = match client_addr {
            Some(client) => address_matches(field(3), mask, client),
            None => Match::Unknown,
        };
        (address_match, if mask.is_some() { 5 } else { 4 })
    };
    let matched = [
        list_matches(field(1), &connection.maintenance_db, &connection.user, true),
        list_matches(field(2), &connection.user, &connection.user, false),
        address_match,
    ];
    if matched.contains(&Match::No) {
        Verdict::Skip
    } else if matched.contains(&Match::Unknown) {
        Verdict::Unknown
    } else {
        Verdict::Matches(field(method_at))
    }
}

fn list_matches(field: &str, value: &str, user: &str, is_database: bool) -> Match {
    let mut result = Match::No;
    for item in field.split(',') {
        let item_match = match item {
            "all" => Match::Yes,
            "sameuser" if is_database => {
                if value == user {
                    Match::Yes
                } else {
                    Match::No
                }
            }
            "samerole" | "samegroup" if is_database => Match::Unknown,
            "replication" if is_database => Match::No,
            group if group.starts_with('+') || group.starts_with('/') => Match::Unknown,
            name if name == value => Match::Yes,
            _ => Match::No,
        };
        match item_match {
            Match::Yes => return Match::Yes,
            Match::Unknown => result = Match::Unknown,
            Match::No => {}
        }
    }
    result
}

fn address_matches(address: &str, mask: Option<&str>, client: IpAddr) -> Match {
    if address == "all" {
        return Match::Yes;
    }
    let (network, bits) = match (address.split_once('/'), mask) {
        (Some((net, bits)), _) => match (net.parse::<IpAddr>(), bits.parse::<u32>()) {
            (Ok(net), Ok(bits)) => (net, bits),
            _ => return Match::Unknown,
        },
        (None, Some(mask)) => match (address.parse::<IpAddr>(), mask.parse::<IpAddr>()) {
            (Ok(net), Ok(IpAddr::V4(mask))) => (net, u32::from(mask).count_ones()),
            (Ok(net), Ok(IpAddr::V6(mask))) => (net, u128::from(mask).count_ones()),
            _ => return Match::Unknown,
        },
        // samehost, samenet, host names: not evaluated here.
        (None, None) => return Match::Unknown,
    };
    let inside = match (network, client) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits.min(32))
            };
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits.min(128))
            };
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    };
    if inside {
        Match::Yes
    } else {
        Match::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::source::Location;

    fn rule(kind: &str, database: &str, user: &str, address: Option<&str>, method: &str) -> HbaRule {
        HbaRule {
            kind: kind.into(),
            database: database.into(),
            user: user.into(),
            address: address.map(Into::into),
            method: method.into(),
            options: None,
            at: Location::file_only(std::path::Path::new("m.toml")),
        }
    }

    /// An administrator connecting over TCP without a password.
    fn admin() -> PgConnection {
        PgConnection {
            tls: crate::systems::postgres::manifest::TlsMode::Disable,
            ..PgConnection::default()
        }
    }

    const STOCK: &str = "# PostgreSQL Client Authentication\n#\n# comment\n\nlocal all all trust\nhost all all 127.0.0.1/32 trust\n";

    #[test]
    fn block_goes_before_the_first_rule_and_is_replaced_in_place() {
        let lan = rule("host", "all", "all", Some("172.20.74.0/24"), "scram-sha-256");
        let (first, lines) = with_block("f", STOCK.as_bytes(), std::slice::from_ref(&lan)).unwrap();
        let first = String::from_utf8(first).unwrap();
        assert!(first.starts_with("# PostgreSQL Client Authentication\n#\n# comment\n\n# BEGIN geosync"));
        assert!(first.ends_with(
            "# END geosync managed block\nlocal all all trust\nhost all all 127.0.0.1/32 trust\n"
        ));
        assert_eq!(lines[0].0, 6);
        let (second, _) = with_block("f", first.as_bytes(), &[]).unwrap();
        let second = String::from_utf8(second).unwrap();
        assert_eq!(second.replace(&format!("{BEGIN}\n{END}\n"), ""), STOCK);
        let (again, _) = with_block("f", first.as_bytes(), &[lan]).unwrap();
        assert_eq!(again, first.as_bytes());
    }

    #[test]
    fn damaged_markers_are_refused() {
        let text = format!("{BEGIN}\nhost all all all trust\n");
        assert!(matches!(
            with_block("f", text.as_bytes(), &[]),
            Err(HbaPlanError::DamagedBlock { .. })
        ));
    }

    #[test]
    fn lock_out_is_detected_from_the_first_definite_match() {
        let local: IpAddr = "127.0.0.1".parse().unwrap();
        let reject = rule("host", "all", "postgres", Some("127.0.0.0/8"), "reject");
        let (content, _) = with_block("f", STOCK.as_bytes(), &[reject]).unwrap();
        let err =
            check_not_locked_out(&String::from_utf8_lossy(&content), &admin(), Some(local)).unwrap_err();
        assert!(err.to_string().contains("and rejects it"), "{err}");

        let scram = rule("host", "all", "all", Some("127.0.0.1/32"), "scram-sha-256");
        let (content, _) = with_block("f", STOCK.as_bytes(), &[scram]).unwrap();
        assert!(check_not_locked_out(&String::from_utf8_lossy(&content), &admin(), Some(local)).is_err());

        let other_net = rule("host", "all", "all", Some("10.0.0.0/8"), "reject");
        let (content, _) = with_block("f", STOCK.as_bytes(), &[other_net]).unwrap();
        assert_eq!(
            check_not_locked_out(&String::from_utf8_lossy(&content), &admin(), Some(local)),
            Ok(())
        );

        let group = rule("host", "all", "+admins", Some("127.0.0.1/32"), "reject");
        let (content, _) = with_block("f", STOCK.as_bytes(), &[group]).unwrap();
        assert_eq!(
            check_not_locked_out(&String::from_utf8_lossy(&content), &admin(), Some(local)),
            Ok(()),
            "unknown: no false alarm"
        );

        assert!(check_not_locked_out("local all all trust\n", &admin(), Some(local)).is_err());
    }
}
