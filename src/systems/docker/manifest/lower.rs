//! Lowering of `[docker]`: the compose-like container settings parsed
//! (ports, mounts, durations, sizes), env files read, references checked.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::raw::{RawDocker, RawDockerContainer, RawEnvValue, RawNetworks};
use super::{
    Build, Condition, Docker, DockerContainer, DockerFile, DockerNetwork, DockerVolume, EnvValue,
    Healthcheck, Mount, MountSource, OnChange, PortBinding, PullPolicy,
};
use super::{CONTAINER_KIND, FILE_KIND, NETWORK_KIND, VOLUME_KIND};
use crate::manifest::error::ManifestError;
use crate::manifest::lower::Lowerer;
use crate::manifest::raw::Text;
use crate::manifest::secret::{looks_secret, plainly_not_secret, SecretResolver};
use crate::manifest::source::Location;

const DEFAULT_WAIT_MS: u64 = 60_000;

impl Lowerer<'_> {
    pub fn docker(&mut self, raw: &RawDocker, resolver: &SecretResolver) -> (Docker, Option<Location>) {
        let project = match &raw.project {
            Some(p) => {
                let project = self.text(p);
                let valid = !project.is_empty()
                    && project
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
                if !valid {
                    self.invalid(
                        &p.span(),
                        "[docker] project",
                        "use lower-case letters, digits, '-' and '_'",
                    );
                }
                project
            }
            None => String::new(),
        };
        let project_at = raw.project.as_ref().map(|p| self.at(&p.span()));
        let docker = Docker {
            host: raw.host.as_ref().map(|h| self.text(h)),
            project,
            networks: raw
                .network
                .iter()
                .map(|n| {
                    let n = n.get_ref();
                    DockerNetwork {
                        name: self.object_name(&n.name, NETWORK_KIND),
                        driver: n
                            .driver
                            .as_ref()
                            .map_or_else(|| "bridge".into(), |d| self.text(d)),
                        internal: n.internal,
                    }
                })
                .collect(),
            volumes: raw
                .volume
                .iter()
                .map(|v| {
                    let v = v.get_ref();
                    DockerVolume {
                        name: self.object_name(&v.name, VOLUME_KIND),
                        driver: v.driver.as_ref().map_or_else(|| "local".into(), |d| self.text(d)),
                        disposable: v.disposable,
                    }
                })
                .collect(),
            containers: raw
                .container
                .iter()
                .map(|c| self.container(c.get_ref(), resolver))
                .collect(),
            files: raw.file.iter().map(|f| self.docker_file(f, resolver)).collect(),
        };
        (docker, project_at)
    }

    fn docker_file(&mut self, raw: &super::raw::RawDockerFile, resolver: &SecretResolver) -> DockerFile {
        let mut file = self.managed_file(&raw.as_file(), FILE_KIND, resolver);
        let subject = format!("{FILE_KIND}:{}", file.name);
        // The path is inside the container or volume: not anchored at the manifest.
        let path = self.text(&raw.path);
        let (container, volume) = match (&raw.container, &raw.volume) {
            (Some(container), None) => {
                if !path.starts_with('/') {
                    self.invalid(
                        &raw.path.span(),
                        &subject,
                        "the path inside a container is absolute",
                    );
                }
                (self.text(container), None)
            }
            (None, Some(volume)) => {
                if path.starts_with('/') || path.split('/').any(|part| part == "..") {
                    self.invalid(
                        &raw.path.span(),
                        &subject,
                        "the path inside a volume is relative to its root, without '..'",
                    );
                }
                (String::new(), Some(self.text(volume)))
            }
            _ => {
                self.invalid(
                    &raw.name.span(),
                    &subject,
                    "give exactly one of `container` or `volume`",
                );
                (String::new(), None)
            }
        };
        file.path = path.into();
        let owner = raw.owner.as_ref().and_then(|o| {
            let text = self.text(o);
            let parsed = text
                .split_once(':')
                .and_then(|(u, g)| Some((u.parse().ok()?, g.parse().ok()?)));
            if parsed.is_none() {
                self.invalid(
                    &o.span(),
                    &subject,
                    format!("owner `{text}` is not uid:gid (numbers)"),
                );
            }
            parsed
        });
        let on_change = raw
            .on_change
            .as_ref()
            .and_then(|action| match (action.restart, &action.exec) {
                (true, None) => Some(OnChange::Restart),
                (false, Some(command)) if !command.is_empty() => {
                    Some(OnChange::Exec(command.iter().map(|c| self.text(c)).collect()))
                }
                (false, None) => None,
                _ => {
                    self.invalid(
                        &raw.name.span(),
                        &subject,
                        "on_change takes `restart = true` or `exec = [command...]`, not both",
                    );
                    None
                }
            });
        DockerFile {
            container,
            volume,
            file,
            owner,
            on_change,
        }
    }

    fn object_name(&mut self, name: &Text, kind: &str) -> String {
        let value = self.text(name);
        let valid = !value.is_empty()
            && value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            self.invalid(
                &name.span(),
                &format!("{kind}:{value}"),
                "a Docker name: letters, digits, '_', '.', '-'",
            );
        }
        value
    }

    fn container(&mut self, raw: &RawDockerContainer, resolver: &SecretResolver) -> DockerContainer {
        let name = self.object_name(&raw.name, CONTAINER_KIND);
        let subject = format!("{CONTAINER_KIND}:{name}");
        let pull = self.pull_policy(raw, &subject);
        let env = self.container_env(raw, &subject, resolver);
        let ports = raw.ports.iter().filter_map(|p| self.port(p, &subject)).collect();
        let mounts = raw
            .volumes
            .iter()
            .filter_map(|v| self.mount(v, &subject))
            .collect();
        let networks = self.networks(raw);
        let restart = self.restart(raw, &subject);
        let healthcheck = self.healthcheck(raw, &subject);
        let depends_on = self.depends_on(raw, &subject);
        let wait_default = healthcheck
            .as_ref()
            .map(|h| h.start_period_ms + (h.interval_ms + h.timeout_ms) * u64::from(h.retries.max(1)))
            .unwrap_or(DEFAULT_WAIT_MS);
        DockerContainer {
            at: self.at(&raw.name.span()),
            image: self.text(&raw.image),
            pull,
            build: raw.build.as_ref().map(|b| Build {
                context: self.path(&b.context),
                dockerfile: b
                    .dockerfile
                    .as_ref()
                    .map_or_else(|| "Dockerfile".into(), |d| self.text(d)),
                target: b.target.as_ref().map(|t| self.text(t)),
                args: b.args.iter().map(|(k, v)| (k.clone(), self.text(v))).collect(),
            }),
            command: raw
                .command
                .as_ref()
                .map(|c| c.iter().map(|t| self.text(t)).collect()),
            entrypoint: raw
                .entrypoint
                .as_ref()
                .map(|c| c.iter().map(|t| self.text(t)).collect()),
            env,
            ports,
            mounts,
            networks,
            labels: raw
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), self.text(v)))
                .collect(),
            healthcheck,
            depends_on,
            memory: raw.memory.as_ref().and_then(|m| self.size(m, &subject)),
            user: raw.user.as_ref().map(|u| self.text(u)),
            working_dir: raw.working_dir.as_ref().map(|w| self.text(w)),
            wait_timeout_ms: raw
                .wait_timeout
                .as_ref()
                .and_then(|w| self.duration(w, &subject))
                .unwrap_or(wait_default),
            job: self.job(raw, &restart, &subject),
            restart,
            name,
        }
    }

    fn pull_policy(&mut self, raw: &RawDockerContainer, subject: &str) -> PullPolicy {
        match raw.pull.as_ref().map(|p| (self.text(p), p.span())) {
            None => PullPolicy::Missing,
            Some((p, _)) if p == "missing" => PullPolicy::Missing,
            Some((p, _)) if p == "always" => PullPolicy::Always,
            Some((p, _)) if p == "never" => PullPolicy::Never,
            Some((p, span)) => {
                self.invalid(
                    &span,
                    subject,
                    format!("pull `{p}` is not one of missing, always, never"),
                );
                PullPolicy::Missing
            }
        }
    }

    /// The variables of the env files, in order, as compose reads them.
    fn env_files(
        &mut self,
        raw: &RawDockerContainer,
        subject: &str,
        resolver: &SecretResolver,
    ) -> BTreeMap<String, EnvValue> {
        let mut env = BTreeMap::new();
        for entry in &raw.env_file {
            let file = toml::Spanned::new(entry.span(), entry.get_ref().path().to_string());
            let path = self.path(&file);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let mut known: BTreeMap<String, String> = env
                        .iter()
                        .map(|(k, v): (&String, &EnvValue)| (k.clone(), v.expose().to_string()))
                        .collect();
                    for (key, value) in parse_env_file(&text) {
                        // Compose expands ${NAME} from earlier lines.
                        let value = expand_env_refs(&value, &known);
                        known.insert(key.clone(), value.clone());
                        let value = if looks_secret(&key) && !plainly_not_secret(&value) {
                            EnvValue::Secret(resolver.env_file_secret(&path, &key, value))
                        } else {
                            EnvValue::Plain(value)
                        };
                        env.insert(key, value);
                    }
                }
                // `required = false`: an absent file is no file, as in compose.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !entry.get_ref().required() => {}
                Err(e) => self.invalid(
                    &file.span(),
                    subject,
                    format!("cannot read env file {}: {e}", path.display()),
                ),
            }
        }
        env
    }

    /// The environment: env files first (each line may use earlier ones, as
    /// compose does), then `env`, which wins.
    fn container_env(
        &mut self,
        raw: &RawDockerContainer,
        subject: &str,
        resolver: &SecretResolver,
    ) -> BTreeMap<String, EnvValue> {
        let mut env = self.env_files(raw, subject, resolver);
        for (key, value) in &raw.env {
            let lowered = match value.get_ref() {
                RawEnvValue::Text(text) if looks_secret(key) && !plainly_not_secret(text) => {
                    self.invalid(
                        &value.span(),
                        subject,
                        format!("env.{key} looks like a secret: a literal is refused here; write {{ env = \"NAME\" }} or {{ file = \"path\" }}"),
                    );
                    EnvValue::Plain(String::new())
                }
                RawEnvValue::Text(text) => {
                    EnvValue::Plain(self.text(&toml::Spanned::new(value.span(), text.clone())))
                }
                RawEnvValue::Number(n) => EnvValue::Plain(n.to_string()),
                RawEnvValue::Bool(b) => EnvValue::Plain(b.to_string()),
                RawEnvValue::Secret(reference) => {
                    let reference = toml::Spanned::new(value.span(), reference.clone());
                    match self.secret(&reference, &format!("{subject}: env.{key}"), resolver) {
                        Some(secret) => EnvValue::Secret(secret),
                        None => EnvValue::Plain(String::new()),
                    }
                }
            };
            env.insert(key.clone(), lowered);
        }
        env
    }

    fn networks(&mut self, raw: &RawDockerContainer) -> BTreeMap<String, Vec<String>> {
        match &raw.networks {
            None => BTreeMap::new(),
            Some(spanned) => {
                let span = spanned.span();
                let mut expand = |text: &String| self.text(&toml::Spanned::new(span.clone(), text.clone()));
                match spanned.get_ref() {
                    RawNetworks::Names(names) => names.iter().map(|n| (expand(n), Vec::new())).collect(),
                    RawNetworks::WithAliases(map) => map
                        .iter()
                        .map(|(n, a)| (n.clone(), a.aliases.iter().map(&mut expand).collect()))
                        .collect(),
                }
            }
        }
    }

    fn restart(&mut self, raw: &RawDockerContainer, subject: &str) -> String {
        raw.restart.as_ref().map_or_else(
            || "no".to_string(),
            |r| {
                let value = self.text(r);
                let base = value.split(':').next().unwrap_or("");
                if !["no", "always", "unless-stopped", "on-failure"].contains(&base) {
                    self.invalid(
                        &r.span(),
                        subject,
                        format!("restart `{value}` is not one of no, always, unless-stopped, on-failure[:N]"),
                    );
                }
                value
            },
        )
    }

    fn healthcheck(&mut self, raw: &RawDockerContainer, subject: &str) -> Option<Healthcheck> {
        raw.healthcheck.as_ref().map(|h| {
            let span = h.span();
            let h = h.get_ref();
            let test: Vec<String> = h.test.iter().map(|t| self.text(t)).collect();
            if !matches!(
                test.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            ) {
                self.invalid(
                    &span,
                    subject,
                    "healthcheck test starts with CMD, CMD-SHELL or NONE",
                );
            }
            let mut duration = |d: &Option<Text>, default: u64| match d {
                Some(text) => self.duration(text, subject).unwrap_or(default),
                None => default,
            };
            Healthcheck {
                test,
                interval_ms: duration(&h.interval, 30_000),
                timeout_ms: duration(&h.timeout, 30_000),
                start_period_ms: duration(&h.start_period, 0),
                retries: h.retries.unwrap_or(3),
            }
        })
    }

    fn depends_on(&mut self, raw: &RawDockerContainer, subject: &str) -> BTreeMap<String, Condition> {
        raw.depends_on
            .iter()
            .map(|(dependency, condition)| {
                let text = self.text(condition);
                let condition = match text.as_str() {
                    "started" | "service_started" => Condition::Started,
                    "healthy" | "service_healthy" => Condition::Healthy,
                    "completed" | "service_completed_successfully" => Condition::Completed,
                    _ => {
                        self.invalid(
                            &condition.span(),
                            subject,
                            format!(
                                "depends_on condition `{text}` is not one of started, healthy, completed"
                            ),
                        );
                        Condition::Started
                    }
                };
                (dependency.clone(), condition)
            })
            .collect()
    }

    /// `job = true`: a restart policy that starts it again would never let
    /// it be done.
    fn job(&mut self, raw: &RawDockerContainer, restart: &str, subject: &str) -> bool {
        let Some(job) = &raw.job else { return false };
        let restarted = ["always", "unless-stopped"].contains(&restart);
        if *job.get_ref() && restarted {
            self.invalid(
                &job.span(),
                subject,
                format!("a job (job = true) runs once: restart = \"{restart}\" would start it forever"),
            );
        }
        *job.get_ref()
    }

    /// `[IP:][HOST:]CONTAINER[/PROTO]`, as compose writes ports.
    fn port(&mut self, text: &Text, subject: &str) -> Option<PortBinding> {
        let value = self.text(text);
        let (spec, protocol) = value.split_once('/').unwrap_or((&value, "tcp"));
        let parts: Vec<&str> = spec.split(':').collect();
        let (host_ip, host_port, container_port) = match parts.as_slice() {
            [c] => ("", None, *c),
            [h, c] => ("", Some(*h), *c),
            [ip, h, c] => (*ip, Some(*h).filter(|h| !h.is_empty()), *c),
            _ => ("", None, ""),
        };
        let container_port = container_port.parse::<u16>().ok();
        let host_port_parsed = host_port.map(|h| h.parse::<u16>().ok());
        match (container_port, host_port_parsed) {
            (Some(container_port), None) | (Some(container_port), Some(Some(_)))
                if ["tcp", "udp", "sctp"].contains(&protocol) =>
            {
                Some(PortBinding {
                    host_ip: host_ip.to_string(),
                    host_port: host_port_parsed.flatten(),
                    container_port,
                    protocol: protocol.to_string(),
                })
            }
            _ => {
                self.invalid(
                    &text.span(),
                    subject,
                    format!("port `{value}` is not [IP:][HOST:]CONTAINER[/tcp|udp]"),
                );
                None
            }
        }
    }

    /// `VOLUME:/path[:ro]` or `./dir:/path[:ro]` (a bind mount, relative to
    /// the manifest) or `/dir:/path[:ro]`, or `/path[:ro]` (anonymous).
    fn mount(&mut self, text: &Text, subject: &str) -> Option<Mount> {
        let value = self.text(text);
        let parts: Vec<&str> = value.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            // `/data` or `/data:ro`: an anonymous volume, as in compose.
            [t] if t.starts_with('/') => ("", *t, "rw"),
            [t, m] if t.starts_with('/') && (*m == "ro" || *m == "rw") => ("", *t, *m),
            [s, t] => (*s, *t, "rw"),
            [s, t, m] => (*s, *t, *m),
            _ => {
                self.invalid(
                    &text.span(),
                    subject,
                    format!("volume `{value}` is not [SOURCE:]TARGET[:ro]"),
                );
                return None;
            }
        };
        if !target.starts_with('/') || !["ro", "rw"].contains(&mode) {
            self.invalid(
                &text.span(),
                subject,
                format!("volume `{value}`: the target is an absolute path and the mode ro or rw"),
            );
            return None;
        }
        let source = if source.is_empty() {
            MountSource::Anonymous
        } else if source.starts_with('/') || source.starts_with('.') {
            let anchored = toml::Spanned::new(text.span(), source.to_string());
            // The engine takes only absolute sources; a manifest given as
            // `geosync.toml` has a relative folder.
            let path = self.path_unexpanded(&anchored);
            MountSource::Bind(if path.is_relative() {
                std::env::current_dir().map(|d| d.join(&path)).unwrap_or(path)
            } else {
                path
            })
        } else {
            MountSource::Volume(source.to_string())
        };
        Some(Mount {
            source,
            target: target.to_string(),
            read_only: mode == "ro",
        })
    }

    fn duration(&mut self, text: &Text, subject: &str) -> Option<u64> {
        let value = self.text(text);
        match parse_duration_ms(&value) {
            Some(ms) => Some(ms),
            None => {
                self.invalid(
                    &text.span(),
                    subject,
                    format!("`{value}` is not a duration such as 500ms, 10s, 1m30s"),
                );
                None
            }
        }
    }

    fn size(&mut self, text: &Text, subject: &str) -> Option<i64> {
        let value = self.text(text);
        let lower = value.to_ascii_lowercase();
        let digits = lower.trim_end_matches(['b', 'k', 'm', 'g']);
        let unit = &lower[digits.len()..];
        let factor: i64 = match unit.trim_end_matches('b') {
            "" => 1,
            "k" => 1 << 10,
            "m" => 1 << 20,
            "g" => 1 << 30,
            _ => 0,
        };
        match digits.parse::<i64>() {
            Ok(n) if factor > 0 => Some(n * factor),
            _ => {
                self.invalid(
                    &text.span(),
                    subject,
                    format!("`{value}` is not a size such as 512m or 2g"),
                );
                None
            }
        }
    }
}

/// 500ms, 10s, 2m, 1h, 1m30s.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let mut total = 0u64;
    let mut number = String::new();
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        let factor = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            'h' => 3_600_000,
            'm' => 60_000,
            's' => 1_000,
            _ => return None,
        };
        total += n * factor;
        any = true;
    }
    (number.is_empty() && any).then_some(total)
}

/// `${NAME}` and `$NAME` from the variables already read; others stay.
fn expand_env_refs(value: &str, known: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        let (name, consumed) = if let Some(inner) = tail.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            (&tail[..end], end)
        };
        match known.get(name).filter(|_| !name.is_empty()) {
            Some(v) => {
                out.push_str(v);
                rest = &tail[consumed..];
            }
            None => {
                out.push('$');
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

/// KEY=VALUE lines as compose reads them: blank lines and comments skipped,
/// no interpolation, quotes around the whole value removed.
pub fn parse_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let unquoted = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim().to_string(), unquoted.to_string())
        })
        .collect()
}

/// Checks names between the docker objects of every file.
/// Joins the `[docker]` parts of every file and checks the names between
/// them: one project, declared networks, volumes and dependencies, files
/// placed in a container or volume of the project, no dependency cycle.
pub fn merge(parts: Vec<(Docker, Option<Location>)>, errors: &mut Vec<ManifestError>) -> Option<Docker> {
    let mut docker = join(parts, errors)?;
    if docker.project.is_empty() {
        if let Some(first) = docker.containers.first() {
            invalid(
                errors,
                &first.at,
                "[docker]".into(),
                "`project` is not set: it names every object geosync creates".into(),
            );
        }
    }
    check_container_references(&docker, errors);
    place_volume_files(&mut docker, errors);
    check_files(&docker, errors);
    if let Some(cycle) = dependency_cycle(&docker.containers) {
        let at = docker
            .containers
            .iter()
            .find(|c| c.name == cycle[0])
            .map(|c| c.at.clone());
        if let Some(at) = at {
            invalid(
                errors,
                &at,
                CONTAINER_KIND.into(),
                format!("depends_on forms a cycle: {}", cycle.join(" -> ")),
            );
        }
    }
    Some(docker)
}

fn join(parts: Vec<(Docker, Option<Location>)>, errors: &mut Vec<ManifestError>) -> Option<Docker> {
    let mut iter = parts.into_iter();
    let (mut docker, mut project_at) = iter.next()?;
    for (part, at) in iter {
        if let Some(at) = at {
            match &project_at {
                Some(first) => errors.push(ManifestError::Duplicate {
                    at,
                    first: first.clone(),
                    subject: "[docker] project".into(),
                }),
                None => {
                    docker.project = part.project.clone();
                    project_at = Some(at);
                }
            }
        }
        docker.host = docker.host.or(part.host);
        docker.networks.extend(part.networks);
        docker.volumes.extend(part.volumes);
        docker.containers.extend(part.containers);
        docker.files.extend(part.files);
    }
    Some(docker)
}

fn invalid(errors: &mut Vec<ManifestError>, at: &Location, subject: String, message: String) {
    errors.push(ManifestError::Invalid {
        at: at.clone(),
        subject,
        message,
    })
}

fn check_container_references(docker: &Docker, errors: &mut Vec<ManifestError>) {
    let networks: BTreeSet<&str> = docker.networks.iter().map(|n| n.name.as_str()).collect();
    let volumes: BTreeSet<&str> = docker.volumes.iter().map(|v| v.name.as_str()).collect();
    let containers: BTreeSet<&str> = docker.containers.iter().map(|c| c.name.as_str()).collect();
    let mut seen = BTreeMap::new();
    for container in &docker.containers {
        let subject = format!("{CONTAINER_KIND}:{}", container.name);
        if let Some(first) = seen.insert(container.name.clone(), container.at.clone()) {
            errors.push(ManifestError::Duplicate {
                at: container.at.clone(),
                first,
                subject: subject.clone(),
            });
        }
        for network in container.networks.keys() {
            if !networks.contains(network.as_str()) {
                invalid(
                    errors,
                    &container.at,
                    subject.clone(),
                    format!("network `{network}` is not declared in [[docker.network]]"),
                );
            }
        }
        for mount in &container.mounts {
            if let MountSource::Volume(volume) = &mount.source {
                if !volumes.contains(volume.as_str()) {
                    invalid(
                        errors,
                        &container.at,
                        subject.clone(),
                        format!("volume `{volume}` is not declared in [[docker.volume]]"),
                    );
                }
            }
        }
        for dependency in container.depends_on.keys() {
            if !containers.contains(dependency.as_str()) {
                invalid(
                    errors,
                    &container.at,
                    subject.clone(),
                    format!("depends_on `{dependency}`: no such [[docker.container]]"),
                );
            }
        }
    }
}

/// A file in a volume is written through a container that mounts it.
fn place_volume_files(docker: &mut Docker, errors: &mut Vec<ManifestError>) {
    for file in docker.files.iter_mut() {
        let Some(volume) = &file.volume else { continue };
        match super::container_mounting(&docker.containers, volume) {
            Some((container, target)) => {
                file.container = container;
                file.file.path = std::path::Path::new(&target).join(&file.file.path);
            }
            None => invalid(
                errors,
                &file.file.at,
                format!("{FILE_KIND}:{}", file.file.name),
                format!("no [[docker.container]] mounts volume `{volume}` read-write: geosync writes into a volume through one"),
            ),
        }
    }
}

fn check_files(docker: &Docker, errors: &mut Vec<ManifestError>) {
    let containers: BTreeSet<&str> = docker.containers.iter().map(|c| c.name.as_str()).collect();
    let mut file_at = BTreeMap::new();
    for file in &docker.files {
        let subject = format!("{FILE_KIND}:{}", file.file.name);
        if let Some(first) = file_at.insert(file.file.name.clone(), file.file.at.clone()) {
            errors.push(ManifestError::Duplicate {
                at: file.file.at.clone(),
                first,
                subject: subject.clone(),
            });
        }
        if file.volume.is_none() && !containers.contains(file.container.as_str()) {
            invalid(
                errors,
                &file.file.at,
                subject,
                format!("container `{}`: no such [[docker.container]]", file.container),
            );
        }
    }
}

/// The first dependency cycle found, as the names along it. Iterative, and
/// each container is visited once: a chain of 100,000 dependencies neither
/// overflows the stack nor costs a scan of the path at every step.
fn dependency_cycle(containers: &[DockerContainer]) -> Option<Vec<String>> {
    let names: Vec<&str> = containers.iter().map(|c| c.name.as_str()).collect();
    let edges: HashMap<&str, Vec<&str>> = containers
        .iter()
        .map(|c| (c.name.as_str(), c.depends_on.keys().map(String::as_str).collect()))
        .collect();
    first_cycle(&names, &edges)
}

fn first_cycle(names: &[&str], edges: &HashMap<&str, Vec<&str>>) -> Option<Vec<String>> {
    let mut done: HashSet<&str> = HashSet::new();
    for &start in names {
        if done.contains(start) {
            continue;
        }
        // The path being explored, each node with the next edge to try.
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        let mut on_path: HashMap<&str, usize> = HashMap::from([(start, 0)]);
        while let Some((node, next)) = path.last_mut() {
            let node = *node;
            let Some(&dependency) = edges.get(node).and_then(|e| e.get(*next)) else {
                path.pop();
                on_path.remove(node);
                done.insert(node);
                continue;
            };
            *next += 1;
            if let Some(&index) = on_path.get(dependency) {
                let mut cycle: Vec<String> = path[index..].iter().map(|(n, _)| n.to_string()).collect();
                cycle.push(dependency.to_string());
                return Some(cycle);
            }
            if !done.contains(dependency) && edges.contains_key(dependency) {
                on_path.insert(dependency, path.len());
                path.push((dependency, 0));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_cycles_are_named_and_long_chains_are_not_cycles() {
        let names: Vec<String> = (0..200_000).map(|i| format!("svc{i}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut edges: HashMap<&str, Vec<&str>> = refs
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, refs.get(i + 1).into_iter().copied().collect()))
            .collect();
        assert_eq!(first_cycle(&refs, &edges), None);
        edges.get_mut("svc199999").unwrap().push("svc199997");
        assert_eq!(
            first_cycle(&refs, &edges),
            Some(vec![
                "svc199997".into(),
                "svc199998".into(),
                "svc199999".into(),
                "svc199997".into()
            ])
        );
        let small = HashMap::from([("a", vec!["b"]), ("b", vec!["a"]), ("c", vec![])]);
        assert_eq!(
            first_cycle(&["c", "a", "b"], &small),
            Some(vec!["a".into(), "b".into(), "a".into()])
        );
    }

    #[test]
    fn env_file_values_expand_earlier_ones() {
        let known = BTreeMap::from([("PGUSER".to_string(), "georchestra".to_string())]);
        assert_eq!(
            expand_env_refs("${PGUSER}-$PGUSER-${NOPE}-$$", &known),
            "georchestra-georchestra-${NOPE}-$$"
        );
    }

    #[test]
    fn durations_and_env_files_parse_like_compose() {
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("10"), None);
        assert_eq!(parse_duration_ms("5x"), None);
        assert_eq!(
            parse_env_file("# c\nA=1\n\nB=\"two words\"\nC='x=y'\n"),
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x=y".into())
            ]
        );
    }
}
