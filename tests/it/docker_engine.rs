//! Docker containers, networks, volumes and images against the real
//! engine, with images built locally from Debian's static busybox.

use crate::docker::{busybox_image, cli, Project};
use crate::support::Workspace;

const SECRET: &str = "s3cret-Db-Password-value";

/// A database with a healthcheck, and a web container that waits for it.
fn manifest(project: &Project, mode: &str) -> String {
    format!(
        r#"
[docker]
project = "{project}"

[[docker.network]]
name = "back"

[[docker.volume]]
name = "data"

[[docker.container]]
name = "db"
image = "{image}"
pull = "never"
command = ["sh", "-c", "touch /data/ready; exec sleep 3600"]
env = {{ DB_PASSWORD = {{ env = "GEOSYNC_TEST_DB_PW" }}, MODE = "{mode}" }}
volumes = ["data:/data"]
networks = {{ back = {{ aliases = ["database"] }} }}
healthcheck = {{ test = ["CMD-SHELL", "test -f /data/ready"], interval = "1s", timeout = "1s", retries = 10 }}

[[docker.container]]
name = "web"
image = "{image}"
pull = "never"
command = ["sleep", "3600"]
networks = ["back"]
depends_on = {{ db = "healthy" }}
restart = "unless-stopped"
"#,
        project = project.name,
        image = busybox_image(),
    )
}

fn workspace(text: &str) -> Workspace {
    let mut ws = Workspace::new();
    ws.write("geosync.toml", text);
    ws.set_env("GEOSYNC_TEST_DB_PW", SECRET);
    ws
}

#[test]
fn creates_from_empty_then_has_nothing_to_do_and_keeps_secrets_out() {
    let project = Project::new();
    let ws = workspace(&manifest(&project, "dev"));
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains("+ env.DB_PASSWORD: (sensitive)"),
        "{}",
        plan.stdout
    );
    let apply = ws.geosync(&["apply", "--auto-approve"]);
    apply.assert_code(0);

    assert_eq!(project.inspect("db", "{{.State.Health.Status}}"), "healthy");
    assert_eq!(project.inspect("web", "{{.State.Running}}"), "true");
    assert!(project
        .inspect("db", "{{json .Config.Env}}")
        .contains(&format!("DB_PASSWORD={SECRET}")));
    assert!(project
        .inspect("db", "{{json .NetworkSettings.Networks}}")
        .contains("database"));
    assert_eq!(
        project.inspect("db", "{{index .Config.Labels \"org.geosync.project\"}}"),
        project.name
    );
    // The recorded configuration holds no secret.
    assert!(!project.inspect("db", "{{json .Config.Labels}}").contains(SECRET));
    for (what, text) in [
        ("plan", plan.all()),
        ("apply", apply.all()),
        ("journal", ws.read(".geosync/journal.jsonl")),
    ] {
        assert!(!text.contains(SECRET), "the secret leaked into the {what}");
    }
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_changed_env_recreates_only_that_container() {
    let project = Project::new();
    let ws = workspace(&manifest(&project, "dev"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let db_before = project.inspect("db", "{{.Id}}");
    let web_before = project.inspect("web", "{{.Id}}");
    cli(&[
        "exec",
        &project.container("db"),
        "sh",
        "-c",
        "echo kept > /data/marker",
    ]);

    ws.write("geosync.toml", &manifest(&project, "prod"));
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(plan.stdout.contains("-/+ docker.container:db (replace: its configuration changed)\n      ~ env.MODE: \"dev\" -> \"prod\"\n"), "{}", plan.stdout);
    assert!(
        plan.stdout
            .contains("Plan: 0 to create, 0 to update, 1 to replace, 0 to delete"),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_ne!(project.inspect("db", "{{.Id}}"), db_before);
    assert_eq!(project.inspect("web", "{{.Id}}"), web_before);
    assert!(project
        .inspect("db", "{{json .Config.Env}}")
        .contains("MODE=prod"));
    // The volume and its data survived the recreation.
    assert_eq!(
        cli(&["exec", &project.container("db"), "cat", "/data/marker"]),
        "kept"
    );
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_new_secret_value_recreates_without_showing_it() {
    let project = Project::new();
    let mut ws = workspace(&manifest(&project, "dev"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.set_env("GEOSYNC_TEST_DB_PW", "another-Secret-value-2");
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains(
            "-/+ docker.container:db (replace: a secret of its environment changed)\n      ~ env.DB_PASSWORD: (sensitive)\n"
        ),
        "{}",
        plan.stdout
    );
    assert!(!plan.all().contains("another-Secret-value-2") && !plan.all().contains(SECRET));
}

#[test]
fn stopped_by_hand_is_started_and_deleted_by_hand_is_recreated() {
    let project = Project::new();
    let ws = workspace(&manifest(&project, "dev"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);

    cli(&["stop", "-t", "1", &project.container("web")]);
    crate::docker::assert_started_again(&ws, &project, "web");

    cli(&["rm", "-f", &project.container("web")]);
    let plan = ws.geosync(&["apply", "--auto-approve"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("+ docker.container:web (create:"),
        "{}",
        plan.stdout
    );
    assert_eq!(project.inspect("web", "{{.State.Running}}"), "true");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn a_container_geosync_did_not_create_is_reported_not_touched() {
    let project = Project::new();
    let ws = workspace(&manifest(&project, "dev"));
    cli(&[
        "run",
        "-d",
        "--name",
        &project.container("web"),
        busybox_image(),
        "sleep",
        "3600",
    ]);
    let before = project.inspect("web", "{{.Id}}");

    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert!(run.stdout.contains(&format!("warning: docker.container:web: {} exists and was not created by geosync: left alone (--adopt replaces it)", project.container("web"))), "{}", run.stdout);
    assert_eq!(project.inspect("web", "{{.Id}}"), before);

    ws.geosync(&["apply", "--auto-approve", "--adopt"]).assert_code(0);
    assert_ne!(project.inspect("web", "{{.Id}}"), before);
    assert_eq!(
        project.inspect("web", "{{index .Config.Labels \"org.geosync.resource\"}}"),
        "web"
    );
}

#[test]
fn a_dependency_that_never_gets_healthy_fails_its_dependents_clearly() {
    let project = Project::new();
    let text = manifest(&project, "dev")
        .replace("test -f /data/ready", "echo database not ready; exit 1")
        .replace("retries = 10", "retries = 2")
        // A generous deadline: the failure must come from the health
        // check turning unhealthy, not from a slow machine timing out.
        .replace(
            "volumes = [\"data:/data\"]",
            "volumes = [\"data:/data\"]\nwait_timeout = \"2m\"",
        );
    let ws = workspace(&text);
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(
        run.stdout.contains(&format!("FAILED     docker.container:web: dependency {} is unhealthy; last health check: exit 1 database not ready", project.container("db"))),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("done       docker.container:db"),
        "{}",
        run.stdout
    );
    assert!(!project.exists("web"));
}

#[test]
fn an_image_that_cannot_be_had_stops_everything_before_any_change() {
    let project = Project::new();
    let text = manifest(&project, "dev").replacen(
        &format!("image = \"{}\"\npull = \"never\"", busybox_image()),
        "image = \"localhost:5999/geosync/absent:1\"",
        1,
    );
    let ws = workspace(&text);
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(1);
    assert!(run.stdout.contains("FAILED     docker.image:localhost:5999/geosync/absent:1: cannot pull localhost:5999/geosync/absent:1 from localhost:5999"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "skipped    docker.network:back (depends on docker.image:localhost:5999/geosync/absent:1)"
        ),
        "{}",
        run.stdout
    );
    assert!(cli(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("name={}_back", project.name)
    ])
    .is_empty());
}

#[test]
fn a_rebuilt_image_recreates_its_container() {
    let project = Project::new();
    let ws = workspace("");
    std::fs::copy(
        crate::support::peer_env("GEOSYNC_TEST_BUSYBOX"),
        ws.join("busybox"),
    )
    .unwrap();
    ws.write("app/Dockerfile", "FROM scratch\nCOPY busybox /bin/busybox\nCOPY version /version\nCMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n");
    std::fs::rename(ws.join("busybox"), ws.join("app/busybox")).unwrap();
    ws.write("app/version", "1\n");
    let image = format!("{}-app:latest", project.name);
    ws.write(
        "geosync.toml",
        &format!("[docker]\nproject = \"{}\"\n\n[[docker.container]]\nname = \"app\"\nimage = \"{image}\"\nbuild = {{ context = \"app\" }}\n", project.name),
    );
    let first = ws.geosync(&["apply", "--auto-approve"]);
    first.assert_code(0);
    assert!(
        first.stdout.contains(&format!(
            "+ docker.image:{image} (create: not on the engine: built)"
        )),
        "{}",
        first.stdout
    );
    let before = project.inspect("app", "{{.Image}}");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    ws.write("app/version", "2\n");
    let plan = ws.geosync(&["apply", "--auto-approve"]);
    plan.assert_code(0);
    assert!(
        plan.stdout
            .contains("-/+ docker.container:app (replace: its image"),
        "{}",
        plan.stdout
    );
    assert_ne!(project.inspect("app", "{{.Image}}"), before);
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &image])
        .output();
}

fn with_file(project: &Project, listen: &str) -> String {
    format!(
        r#"{}
[[docker.file]]
name = "web_conf"
container = "web"
path = "/etc/web.conf"
content = "listen {listen}\n"
mode = "0640"
owner = "101:102"
on_change = {{ exec = ["sh", "-c", "echo reloaded >> /etc/reloads"] }}
"#,
        manifest(project, "dev")
    )
}

#[test]
fn a_file_in_a_container_is_placed_and_its_change_runs_the_action() {
    let project = Project::new();
    let ws = workspace(&with_file(&project, "8080"));
    let first = ws.geosync(&["apply", "--auto-approve"]);
    first.assert_code(0);
    assert!(
        first.stdout.contains("+ docker.file:web_conf (create:"),
        "{}",
        first.stdout
    );
    let web = project.container("web");
    assert_eq!(cli(&["exec", &web, "cat", "/etc/web.conf"]), "listen 8080");
    assert_eq!(
        cli(&["exec", &web, "stat", "-c", "%a %u:%g", "/etc/web.conf"]),
        "640 101:102"
    );
    assert_eq!(cli(&["exec", &web, "cat", "/etc/reloads"]), "reloaded");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    ws.write("geosync.toml", &with_file(&project, "9090"));
    let plan = ws.geosync(&["apply", "--auto-approve"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("~ docker.file:web_conf (update:")
            && plan.stdout.contains("-listen 8080\n      +listen 9090"),
        "{}",
        plan.stdout
    );
    assert_eq!(cli(&["exec", &web, "cat", "/etc/web.conf"]), "listen 9090");
    assert_eq!(cli(&["exec", &web, "cat", "/etc/reloads"]), "reloaded\nreloaded");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    // Edited inside the container by hand: put back, action run again.
    cli(&["exec", &web, "sh", "-c", "echo 'listen 1' > /etc/web.conf"]);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(cli(&["exec", &web, "cat", "/etc/web.conf"]), "listen 9090");
}

#[test]
fn a_file_in_a_volume_is_written_through_a_container_that_mounts_it() {
    let project = Project::new();
    let text = format!(
        "{}\n[[docker.file]]\nname = \"app_conf\"\nvolume = \"data\"\npath = \"conf/app.xml\"\ncontent = \"<app/>\\n\"\n",
        manifest(&project, "dev")
    );
    let ws = workspace(&text);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    // Seen from another container mounting the same volume.
    let volume = format!("{}_data:/v", project.name);
    let seen = cli(&[
        "run",
        "--rm",
        "-v",
        &volume,
        busybox_image(),
        "cat",
        "/v/conf/app.xml",
    ]);
    assert_eq!(seen, "<app/>");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

#[test]
fn mviewer_configs_go_into_a_volume_of_the_project() {
    let project = Project::new();
    let apps = crate::mviewer::manifest("Portail").replace(
        "target_dir = \"apps\"",
        "target_dir = \"apps\"\ntarget_volume = \"data\"",
    );
    // The engine named explicitly: the Mviewer system reaches it the same way.
    let docker =
        manifest(&project, "dev").replace("[docker]\n", "[docker]\nhost = \"unix:///var/run/docker.sock\"\n");
    let ws = workspace(&format!("{docker}\n{apps}"));
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    let volume = format!("{}_data:/v", project.name);
    let xml = cli(&[
        "run",
        "--rm",
        "-v",
        &volume,
        busybox_image(),
        "cat",
        "/v/apps/salins.xml",
    ]);
    assert!(xml.contains("<application title=\"Portail\""), "{xml}");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    ws.write(
        "geosync.toml",
        &format!("{docker}\n{}", apps.replace("\"Portail\"", "\"Portail 2\"")),
    );
    let plan = ws.geosync(&["apply", "--auto-approve"]);
    plan.assert_code(0);
    assert!(
        plan.stdout.contains("~ mviewer.app:salins (update:"),
        "{}",
        plan.stdout
    );
    let xml = cli(&[
        "run",
        "--rm",
        "-v",
        &volume,
        busybox_image(),
        "cat",
        "/v/apps/salins.xml",
    ]);
    assert!(xml.contains("<application title=\"Portail 2\""), "{xml}");
}

/// Pushes the test image to the local registry under a name of its own.
fn pushed_image(project: &Project) -> String {
    let registry = crate::support::peer_env("GEOSYNC_TEST_REGISTRY");
    let reference = format!("{registry}/geosync-test/{}:1", project.name);
    cli(&["tag", busybox_image(), &reference]);
    cli(&["push", &reference]);
    cli(&["rmi", &reference]);
    reference
}

#[test]
fn images_are_pulled_from_a_local_registry_as_the_policy_says() {
    let project = Project::new();
    let image = pushed_image(&project);
    let text = |pull: &str| {
        format!(
            "[docker]\nproject = \"{}\"\n\n[[docker.container]]\nname = \"app\"\nimage = \"{image}\"\npull = \"{pull}\"\ncommand = [\"sleep\", \"3600\"]\n",
            project.name
        )
    };
    let ws = workspace(&text("never"));
    let never = ws.geosync(&["plan"]);
    never.assert_code(1);
    assert!(
        never.stderr.contains(&format!(
            "image {image} is not on the engine and pull = \"never\""
        )),
        "{}",
        never.stderr
    );

    ws.write("geosync.toml", &text("missing"));
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(&format!(
            "+ docker.image:{image} (create: not on the engine: pulled)"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(project.inspect("app", "{{.State.Running}}"), "true");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);

    ws.write("geosync.toml", &text("always"));
    let always = ws.geosync(&["plan", "--detailed-exitcode"]);
    always.assert_code(2);
    assert!(
        always
            .stdout
            .contains("(update: pulled on every apply (pull = \"always\"))"),
        "{}",
        always.stdout
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &image])
        .output();
}

#[test]
fn changing_the_pull_policy_alone_recreates_nothing() {
    let project = Project::new();
    let ws = workspace(&manifest(&project, "dev"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    ws.write(
        "geosync.toml",
        &manifest(&project, "dev").replace("pull = \"never\"", "pull = \"missing\""),
    );
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

/// Labels are read by whoever lists containers (and exported by
/// monitoring): they must not let anyone test a guessed secret. Two
/// containers that differ only by their secret carry the same labels, and
/// a changed secret is still noticed, from the live environment.
#[test]
fn labels_tell_nothing_of_a_secret_and_a_changed_one_still_recreates() {
    let project = Project::new();
    let mut ws = workspace(&manifest(&project, "dev"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let labels = |p: &Project| p.inspect("db", "{{json .Config.Labels}}");
    let first_labels = labels(&project);
    let first_id = project.inspect("db", "{{.Id}}");

    ws.set_env("GEOSYNC_TEST_DB_PW", "another-Db-Password-value");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_ne!(project.inspect("db", "{{.Id}}"), first_id);
    assert!(project
        .inspect("db", "{{json .Config.Env}}")
        .contains("DB_PASSWORD=another-Db-Password-value"));
    assert_eq!(labels(&project), first_labels, "a label depends on the secret");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}

/// A secret-like value of an env file is no manifest, yet a saved plan
/// covers it: changed since the plan, the plan is refused.
#[test]
fn a_saved_plan_is_refused_when_a_secret_of_an_env_file_changed() {
    let project = Project::new();
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &format!(
            "[docker]\nproject = \"{}\"\n\n[[docker.container]]\nname = \"db\"\nimage = \"{}\"\npull = \"never\"\ncommand = [\"sleep\", \"3600\"]\nenv_file = [\"db.env\"]\n",
            project.name,
            busybox_image()
        ),
    );
    ws.write("db.env", "POSTGRES_PASSWORD=first-Env-File-secret\n");
    ws.geosync(&["plan", "--out", "plan.json"]).assert_code(0);
    ws.write("db.env", "POSTGRES_PASSWORD=second-Env-File-secret\n");
    let run = ws.geosync(&["apply", "plan.json"]);
    run.assert_code(1);
    assert!(
        run.stderr
            .contains("stale plan: the secret POSTGRES_PASSWORD of the env file")
            && !run.all().contains("Env-File-secret"),
        "{}",
        run.stderr
    );
    assert_eq!(
        cli(&[
            "ps",
            "-aq",
            "--filter",
            &format!("name={}", project.container("db"))
        ]),
        ""
    );
}

/// SIGTERM while changes run (a service manager stopping geosync): the
/// running change finishes, nothing new starts, and the report says what
/// was not run because of the interruption, and only that.
#[test]
fn sigterm_during_an_apply_lets_running_changes_finish_and_reports_the_rest() {
    let project = Project::new();
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &format!(
            r#"
[docker]
project = "{project}"

[[docker.container]]
name = "a-never-healthy"
image = "{image}"
pull = "never"
command = ["sleep", "3600"]
healthcheck = {{ test = ["CMD-SHELL", "false"], interval = "1s", timeout = "1s", retries = 1000 }}
wait_timeout = "15s"

[[docker.container]]
name = "b-waits"
image = "{image}"
pull = "never"
command = ["sleep", "3600"]
depends_on = {{ a-never-healthy = "healthy" }}

[[docker.container]]
name = "c-after"
image = "{image}"
pull = "never"
command = ["sleep", "3600"]
depends_on = {{ b-waits = "started" }}
"#,
            project = project.name,
            image = busybox_image(),
        ),
    );
    let apply = crate::process::Running::start(&ws, &["apply", "--auto-approve"]);
    // The first container runs: the second is now waiting for its health.
    let started = crate::process::poll(std::time::Duration::from_secs(60), || {
        project.exists("a-never-healthy")
            && project.inspect("a-never-healthy", "{{.State.Running}}") == "true"
    });
    assert!(started, "{}", apply.output());
    let output = apply.kill(libc::SIGTERM);
    assert!(
        output.contains("  not run    docker.container:c-after (interrupted)"),
        "{output}"
    );
    assert!(!project.exists("c-after"));
    let journal = ws.read(".geosync/journal.jsonl");
    assert!(journal.contains("\"event\":\"run_finished\""), "{journal}");
}

/// In a volume too, a symbolic link named like an app is not geosync's:
/// reported, never replaced nor followed.
#[test]
fn a_symlink_named_like_an_app_in_a_volume_is_left_alone() {
    let project = Project::new();
    let apps = crate::mviewer::manifest("Portail").replace(
        "target_dir = \"apps\"",
        "target_dir = \"apps\"\ntarget_volume = \"data\"",
    );
    let docker = manifest(&project, "dev");
    let ws = workspace(&format!("{docker}\n{apps}"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let db = project.container("db");
    cli(&[
        "exec",
        &db,
        "sh",
        "-c",
        "echo admin > /data/admin.xml && rm /data/apps/salins.xml && ln -s /data/admin.xml /data/apps/salins.xml",
    ]);

    ws.write(
        "geosync.toml",
        &format!("{docker}\n{}", apps.replace("\"Portail\"", "\"Portail 2\"")),
    );
    let run = ws.geosync(&["apply", "--auto-approve"]);
    run.assert_code(0);
    assert!(
        run.stdout.contains(
            "apps/salins.xml is a symbolic link (to /data/admin.xml) that geosync did not create: left alone"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        cli(&["exec", &db, "readlink", "/data/apps/salins.xml"]),
        "/data/admin.xml"
    );
    assert_eq!(cli(&["exec", &db, "cat", "/data/admin.xml"]), "admin");
}
