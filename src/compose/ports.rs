//! `ports:` in compose's short and long syntax, as the manifest's
//! `[IP:][HOST:]CONTAINER[/PROTO]` strings; ranges become one entry per port.

use serde_yaml_ng::Value;

use super::environment::scalar;

/// The manifest's ports, and notes on what was dropped.
pub fn ports(service: &str, list: Option<&Value>, notes: &mut Vec<String>) -> Result<Vec<String>, String> {
    let Some(Value::Sequence(items)) = list else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for item in items {
        for key in ["name", "app_protocol"]
            .into_iter()
            .filter(|k| item.get(*k).is_some())
        {
            notes.push(format!(
                "service `{service}`: port `{key}` is only a description and was not imported"
            ));
        }
        if item
            .get("mode")
            .and_then(Value::as_str)
            .is_some_and(|m| m != "host")
        {
            return Err("port `mode: ingress` is a swarm feature, not supported by geosync".into());
        }
        let (host_ip, published, target, protocol) = match item {
            Value::Mapping(_) => (
                item.get("host_ip").and_then(scalar),
                item.get("published").and_then(scalar),
                item.get("target")
                    .and_then(scalar)
                    .ok_or("a port without `target`")?,
                item.get("protocol").and_then(scalar),
            ),
            other => short(&scalar(other).ok_or("a port that is neither text nor a mapping")?)?,
        };
        let targets = range(&target)?;
        let published = published.map(|p| range(&p)).transpose()?;
        if let Some(p) = &published {
            if p.len() != targets.len() && p.len() != 1 {
                return Err(format!(
                    "port range `{target}` and its published range differ in length"
                ));
            }
        }
        for (i, container) in targets.iter().enumerate() {
            let mut text = String::new();
            if let Some(ip) = host_ip.as_deref().filter(|ip| !ip.is_empty()) {
                text.push_str(&format!("{ip}:"));
                if published.is_none() {
                    text.push(':');
                }
            }
            if let Some(p) = &published {
                let host = if p.len() == 1 { p[0] } else { p[i] };
                text.push_str(&format!("{host}:"));
            }
            text.push_str(&container.to_string());
            if let Some(proto) = protocol.as_deref().filter(|p| *p != "tcp") {
                text.push_str(&format!("/{proto}"));
            }
            out.push(text);
        }
    }
    Ok(out)
}

type Parts = (Option<String>, Option<String>, String, Option<String>);

/// `[IP:][HOST:]CONTAINER[/PROTO]`, IPv6 addresses in brackets.
fn short(text: &str) -> Result<Parts, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, Some(p.to_string())),
        None => (text, None),
    };
    let (ip, rest) = match spec.strip_prefix('[') {
        Some(v6) => {
            let (ip, rest) = v6
                .split_once("]:")
                .ok_or(format!("port `{text}`: unclosed `[`"))?;
            (Some(format!("[{ip}]")), rest)
        }
        None => (None, spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(match (ip, parts.as_slice()) {
        (None, [c]) => (None, None, c.to_string(), protocol),
        (None, [h, c]) => (None, some(h), c.to_string(), protocol),
        (None, [ip, h, c]) => (some(ip), some(h), c.to_string(), protocol),
        (Some(ip), [h, c]) => (Some(ip), some(h), c.to_string(), protocol),
        (Some(ip), [c]) => (Some(ip), None, c.to_string(), protocol),
        _ => return Err(format!("port `{text}` is not [IP:][HOST:]CONTAINER[/PROTO]")),
    })
}

fn range(text: &str) -> Result<Vec<u16>, String> {
    let bad = || format!("`{text}` is not a port or a range of ports");
    let (from, to) = text.split_once('-').unwrap_or((text, text));
    let from: u16 = from.trim().parse().map_err(|_| bad())?;
    let to: u16 = to.trim().parse().map_err(|_| bad())?;
    if to < from {
        return Err(bad());
    }
    Ok((from..=to).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_long_and_ranges() {
        let yaml: Value = serde_yaml_ng::from_str(
            "[80, '8080:80', '127.0.0.1:5432:5432', '5000:5000/udp', '9090-9091:8080-8081', '127.0.0.1::53',
              {target: 80, published: '8000', host_ip: 127.0.0.1, protocol: udp}, {target: 81}]",
        )
        .unwrap();
        assert_eq!(
            ports("s", Some(&yaml), &mut Vec::new()).unwrap(),
            vec![
                "80",
                "8080:80",
                "127.0.0.1:5432:5432",
                "5000:5000/udp",
                "9090:8080",
                "9091:8081",
                "127.0.0.1::53",
                "127.0.0.1:8000:80/udp",
                "81",
            ]
        );
        let bad: Value = serde_yaml_ng::from_str("['a:b:c:d']").unwrap();
        assert!(ports("s", Some(&bad), &mut Vec::new()).is_err());
    }
}
