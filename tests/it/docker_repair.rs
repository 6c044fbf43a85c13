//! What a hand on the engine, or a kill -9 of geosync, leaves behind, and
//! how the next run repairs it: against the real Docker Engine, with the
//! real binary killed while a chosen engine request is held.

use crate::docker::{busybox_image, cli, Project};
use crate::engine_proxy::EngineProxy;
use crate::support::Workspace;

/// `db` holds a volume with a file geosync keeps in it; `web` exits 0 on
/// SIGTERM, as many services do. Neither declares a restart policy.
fn manifest(project: &Project, host: Option<&str>, mode: &str) -> String {
    let host = host.map(|h| format!("host = \"{h}\"\n")).unwrap_or_default();
    format!(
        r#"
[docker]
project = "{project}"
{host}
[[docker.network]]
name = "back"

[[docker.volume]]
name = "data"

[[docker.container]]
name = "db"
image = "{image}"
pull = "never"
command = ["sleep", "3600"]
env = {{ MODE = "{mode}" }}
volumes = ["data:/data"]
networks = ["back"]

[[docker.container]]
name = "web"
image = "{image}"
pull = "never"
command = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
env = {{ MODE = "{mode}" }}
networks = ["back"]

[[docker.file]]
name = "db_conf"
volume = "data"
path = "conf/db.conf"
content = "shared_buffers = 128MB\n"
on_change = {{ exec = ["sh", "-c", "echo reloaded >> /data/reloads"] }}
"#,
        project = project.name,
        image = busybox_image(),
    )
}

fn applied(project: &Project, mode: &str) -> Workspace {
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest(project, None, mode));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws
}

/// Names of the project's containers labelled as `resource`.
fn labelled(project: &Project, resource: &str) -> Vec<String> {
    let mut names: Vec<String> = cli(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}}",
        "--filter",
        &format!("label=org.geosync.project={}", project.name),
        "--filter",
        &format!("label=org.geosync.resource={resource}"),
    ])
    .lines()
    .map(str::to_string)
    .collect();
    names.sort();
    names
}

#[test]
fn a_service_that_exited_0_when_stopped_by_hand_is_started_again() {
    let project = Project::new();
    let ws = applied(&project, "dev");
    cli(&["stop", "-t", "20", &project.container("web")]);
    assert_eq!(project.inspect("web", "{{.State.ExitCode}}"), "0");

    crate::docker::assert_started_again(&ws, &project, "web");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_one_shot_job_that_completed_is_left_done_and_one_restarted_forever_is_refused() {
    let project = Project::new();
    let text = format!(
        r#"
[docker]
project = "{project}"

[[docker.container]]
name = "init"
image = "{image}"
pull = "never"
command = ["sh", "-c", "echo ran >> /state/runs"]
volumes = ["state:/state"]

[[docker.container]]
name = "app"
image = "{image}"
pull = "never"
command = ["sleep", "3600"]
depends_on = {{ init = "completed" }}

[[docker.container]]
name = "seed"
image = "{image}"
pull = "never"
command = ["sh", "-c", "echo seeded >> /state/seeds"]
volumes = ["state:/state"]
job = true

[[docker.volume]]
name = "state"
"#,
        project = project.name,
        image = busybox_image(),
    );
    let ws = Workspace::new();
    ws.write("geosync.toml", &text);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    for job in ["init", "seed"] {
        assert_eq!(
            project.inspect(job, "{{.State.Status}} {{.State.ExitCode}}"),
            "exited 0"
        );
    }
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let volume = format!("{}_state:/s", project.name);
    let seeds = cli(&["run", "--rm", "-v", &volume, busybox_image(), "cat", "/s/seeds"]);
    assert_eq!(seeds, "seeded", "the job ran once");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    // A job restarted forever would never be done.
    ws.write(
        "geosync.toml",
        &text.replace("job = true", "job = true\nrestart = \"always\""),
    );
    let refused = ws.geosync(&["validate"]);
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("geosync.toml:")
            && refused
                .stderr
                .contains("a job (job = true) runs once: restart = \"always\" would start it forever"),
        "{}",
        refused.stderr
    );
}

#[test]
fn killed_before_starting_a_container_the_next_run_starts_it() {
    let project = Project::new();
    let proxy = EngineProxy::holding(&format!("/containers/{}/start", project.container("web")));
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest(&project, Some(&proxy.host()), "dev"));
    proxy.kill_when_held(ws.spawn_geosync(&["apply", "--auto-approve"]));
    assert_eq!(project.inspect("web", "{{.State.Status}}"), "created");

    ws.write("geosync.toml", &manifest(&project, None, "dev"));
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains(&format!(
            "~ docker.container:web (update: {} was created but never started)",
            project.container("web")
        )),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve", "--break-lock"])
        .assert_code(0);
    assert_eq!(project.inspect("web", "{{.State.Running}}"), "true");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_container_renamed_by_hand_gets_its_name_back_and_is_never_duplicated() {
    let project = Project::new();
    let ws = applied(&project, "dev");
    let id = project.inspect("web", "{{.Id}}");
    let moved = format!("{}-moved", project.container("web"));
    cli(&["rename", &project.container("web"), &moved]);

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains(&format!(
            "~ docker.container:web (update: renamed by hand to {moved}: its name is given back)"
        )),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(labelled(&project, "web"), vec![project.container("web")]);
    assert_eq!(
        project.inspect("web", "{{.Id}}"),
        id,
        "the same container, renamed back"
    );
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    // Renamed, then dropped from the manifest: --prune still finds it.
    cli(&["rename", &project.container("web"), &moved]);
    let without_web = manifest(&project, None, "dev").replace("name = \"web\"", "name = \"web2\"");
    ws.write("geosync.toml", &without_web);
    let prune = ws.geosync(&["apply", "--auto-approve", "--prune"]);
    prune.assert_code(0);
    assert!(
        prune.stdout.contains("- docker.container:web (delete:"),
        "{}",
        prune.stdout
    );
    assert!(labelled(&project, "web").is_empty());
}

#[test]
fn killed_after_the_old_container_was_removed_during_a_replace_the_next_run_finishes_it() {
    let project = Project::new();
    let ws = applied(&project, "dev");
    let leftover = format!("{}-geosync-new", project.container("web"));
    let proxy = EngineProxy::holding(&format!("/containers/{leftover}/rename"));
    ws.write("geosync.toml", &manifest(&project, Some(&proxy.host()), "prod"));
    proxy.kill_when_held(ws.spawn_geosync(&["apply", "--auto-approve"]));
    assert!(!project.exists("web"), "the old container was removed");
    assert_eq!(labelled(&project, "web"), vec![leftover.clone()]);

    ws.write("geosync.toml", &manifest(&project, None, "prod"));
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains(&format!(
            "~ docker.container:web (update: an interrupted apply left it as {leftover}: renamed and started)"
        )),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve", "--break-lock"])
        .assert_code(0);
    assert_eq!(labelled(&project, "web"), vec![project.container("web")]);
    assert_eq!(project.inspect("web", "{{.State.Running}}"), "true");
    assert!(project
        .inspect("web", "{{json .Config.Env}}")
        .contains("MODE=prod"));
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn killed_while_stopping_the_old_container_during_a_replace_the_next_run_finishes_it() {
    let project = Project::new();
    let ws = applied(&project, "dev");
    let proxy = EngineProxy::holding(&format!("/containers/{}/stop", project.container("web")));
    ws.write("geosync.toml", &manifest(&project, Some(&proxy.host()), "prod"));
    proxy.kill_when_held(ws.spawn_geosync(&["apply", "--auto-approve"]));
    let leftover = format!("{}-geosync-new", project.container("web"));
    assert_eq!(
        labelled(&project, "web"),
        vec![project.container("web"), leftover]
    );

    ws.write("geosync.toml", &manifest(&project, None, "prod"));
    ws.geosync(&["apply", "--auto-approve", "--break-lock"])
        .assert_code(0);
    assert_eq!(labelled(&project, "web"), vec![project.container("web")]);
    assert!(project
        .inspect("web", "{{json .Config.Env}}")
        .contains("MODE=prod"));
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_leftover_of_a_killed_replace_is_seen_by_prune() {
    let project = Project::new();
    let ws = applied(&project, "dev");
    let leftover = format!("{}-geosync-new", project.container("web"));
    let proxy = EngineProxy::holding(&format!("/containers/{leftover}/rename"));
    ws.write("geosync.toml", &manifest(&project, Some(&proxy.host()), "prod"));
    proxy.kill_when_held(ws.spawn_geosync(&["apply", "--auto-approve"]));

    let without_web = manifest(&project, None, "prod").replace("name = \"web\"", "name = \"web2\"");
    ws.write("geosync.toml", &without_web);
    let prune = ws.geosync(&["apply", "--auto-approve", "--prune", "--break-lock"]);
    prune.assert_code(0);
    assert!(
        prune.stdout.contains("- docker.container:web (delete:"),
        "{}",
        prune.stdout
    );
    assert!(labelled(&project, "web").is_empty());
}

#[test]
fn a_network_removed_by_hand_is_recreated_and_its_containers_join_it() {
    let project = Project::new();
    let ws = applied(&project, "dev");
    cli(&[
        "stop",
        "-t",
        "20",
        &project.container("db"),
        &project.container("web"),
    ]);
    let network = format!("{}_back", project.name);
    cli(&["network", "rm", &network]);

    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("+ docker.network:back (create:"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(&format!(
            "-/+ docker.container:web (replace: network {network} was removed or recreated"
        )),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let id = cli(&["network", "inspect", "--format", "{{.Id}}", &network]);
    for resource in ["db", "web"] {
        assert_eq!(project.inspect(resource, "{{.State.Running}}"), "true");
        let attached = project.inspect(
            resource,
            &format!("{{{{(index .NetworkSettings.Networks \"{network}\").NetworkID}}}}"),
        );
        assert_eq!(attached, id, "{resource} is on the new network");
    }
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn replacing_the_container_that_mounts_a_volume_leaves_its_files_alone() {
    let project = Project::new();
    let ws = applied(&project, "dev");
    let reloads = || cli(&["exec", &project.container("db"), "cat", "/data/reloads"]);
    assert_eq!(reloads(), "reloaded");

    ws.write("geosync.toml", &manifest(&project, None, "prod"));
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("-/+ docker.container:db (replace:"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("docker.file:db_conf"), "{}", plan.stdout);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(reloads(), "reloaded", "on_change did not run again");
    assert_eq!(
        cli(&["exec", &project.container("db"), "cat", "/data/conf/db.conf"]),
        "shared_buffers = 128MB"
    );
}

#[test]
fn an_excluded_container_does_not_gate_the_plan() {
    let project = Project::new();
    let text = manifest(&project, None, "dev").replacen(
        &format!("image = \"{}\"", busybox_image()),
        &format!("image = \"{}-absent:1\"", project.name),
        2,
    );
    // db (first) keeps the real image; web's is not on the engine.
    let text = text.replacen(
        &format!("image = \"{}-absent:1\"", project.name),
        &format!("image = \"{}\"", busybox_image()),
        1,
    );
    let ws = Workspace::new();
    ws.write("geosync.toml", &text);
    let all = ws.geosync(&["plan"]);
    all.assert_code(1);
    assert!(
        all.stderr.contains(&format!(
            "docker.container:web: image {}-absent:1 is not on the engine and pull = \"never\"",
            project.name
        )),
        "{}",
        all.stderr
    );
    for scope in [
        &["--exclude", "docker.container:web"][..],
        &["--only", "docker.container:db"][..],
    ] {
        let mut args = vec!["apply", "--auto-approve"];
        args.extend_from_slice(scope);
        let run = ws.geosync(&args);
        run.assert_code(0);
        assert!(!run.all().contains("web"), "{}", run.all());
    }
    assert_eq!(project.inspect("db", "{{.State.Running}}"), "true");
    assert!(!project.exists("web"));
}

#[test]
fn the_image_of_an_excluded_container_is_not_pulled() {
    let project = Project::new();
    let unreachable = "localhost:5999/geosync/absent:1";
    // web's image comes from a registry nobody serves: pulling it fails.
    let mut parts = manifest(&project, None, "dev")
        .splitn(2, "name = \"web\"")
        .map(str::to_string)
        .collect::<Vec<_>>();
    parts[1] = parts[1].replacen(
        &format!("image = \"{}\"\npull = \"never\"", busybox_image()),
        &format!("image = \"{unreachable}\""),
        1,
    );
    let ws = Workspace::new();
    ws.write("geosync.toml", &parts.join("name = \"web\""));
    let run = ws.geosync(&["apply", "--auto-approve", "--exclude", "docker.container:web"]);
    run.assert_code(0);
    assert!(!run.stdout.contains(unreachable), "{}", run.stdout);
    assert_eq!(project.inspect("db", "{{.State.Running}}"), "true");
}
