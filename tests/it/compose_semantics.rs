//! Anonymous volumes (`volumes = ["/data"]`): one per container, kept when
//! geosync replaces the container, as compose keeps them on a recreate.

use crate::docker::{busybox_image, cli, Project};
use crate::support::Workspace;

fn manifest(project: &Project, mode: &str) -> String {
    format!(
        r#"
[docker]
project = "{project}"

[[docker.network]]
name = "default"

[[docker.container]]
name = "app"
image = "{image}"
pull = "never"
env = {{ MODE = "{mode}" }}
volumes = ["/data"]
networks = ["default"]
"#,
        project = project.name,
        image = busybox_image(),
    )
}

/// The busybox image with a `VOLUME /cache`, built once per run.
fn image_with_volume() -> &'static str {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    const IMAGE: &str = "geosync-compose-test-volume:1";
    BUILT.get_or_init(|| {
        let context = tempfile::tempdir().unwrap();
        std::fs::write(
            context.path().join("Dockerfile"),
            format!("FROM {}\nVOLUME /cache\n", busybox_image()),
        )
        .unwrap();
        let status = std::process::Command::new("docker")
            .args(["build", "-q", "-t", IMAGE])
            .arg(context.path())
            .env("DOCKER_BUILDKIT", "0")
            .status()
            .unwrap();
        assert!(status.success(), "building {IMAGE}");
    });
    IMAGE
}

fn container(project: &Project, image: &str, mode: &str, volumes: &str) -> String {
    format!(
        "[docker]\nproject = \"{}\"\n\n[[docker.network]]\nname = \"default\"\n\n[[docker.container]]\nname = \"app\"\nimage = \"{image}\"\npull = \"never\"\nenv = {{ MODE = \"{mode}\" }}\nvolumes = [{volumes}]\nnetworks = [\"default\"]\n",
        project.name
    )
}

fn mounts(project: &Project) -> String {
    project.inspect("app", "{{range .Mounts}}{{.Destination}}={{.Name}} {{end}}")
}

#[test]
fn an_image_volume_is_kept_across_a_replacement_and_a_dropped_anonymous_one_is_not() {
    let project = Project::new();
    let ws = Workspace::new();
    let image = image_with_volume();
    ws.write("geosync.toml", &container(&project, image, "one", "\"/data\""));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let name = project.container("app");
    cli(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo kept > /cache/file && echo gone > /data/file",
    ]);
    let before = mounts(&project);

    // /data leaves the manifest: compose would not carry it over either.
    ws.write("geosync.toml", &container(&project, image, "two", ""));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let after = mounts(&project);
    let cache = |m: &str| {
        m.split(' ')
            .find(|e| e.starts_with("/cache="))
            .unwrap()
            .to_string()
    };
    assert_eq!(cache(&after), cache(&before));
    assert!(!after.contains("/data="), "{after}");
    assert_eq!(cli(&["exec", &name, "cat", "/cache/file"]), "kept");
    let dropped = before.split(' ').find(|e| e.starts_with("/data=")).unwrap();
    cli(&["rm", "-f", "-v", &name]);
    cli(&["volume", "rm", &dropped["/data=".len()..]]);
}

#[test]
fn an_anonymous_volume_keeps_its_data_across_a_replacement() {
    let project = Project::new();
    let ws = Workspace::new();
    ws.write("geosync.toml", &manifest(&project, "one"));
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let container = project.container("app");
    let first = project.inspect("app", "{{range .Mounts}}{{.Name}}{{end}}");
    assert_eq!(first.len(), 64, "an anonymous volume: {first}");
    cli(&["exec", &container, "sh", "-c", "echo kept > /data/file"]);

    ws.write("geosync.toml", &manifest(&project, "two"));
    let apply = ws.geosync(&["apply", "--auto-approve"]);
    apply.assert_code(0);
    assert!(
        apply.stdout.contains("-/+ docker.container:app"),
        "{}",
        apply.stdout
    );
    assert_eq!(project.inspect("app", "{{range .Mounts}}{{.Name}}{{end}}"), first);
    assert_eq!(cli(&["exec", &container, "cat", "/data/file"]), "kept");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
    cli(&["rm", "-f", "-v", &container]);
}

#[test]
fn optional_env_files_may_be_absent_and_required_ones_may_not() {
    let project = Project::new();
    let ws = Workspace::new();
    ws.write("present.env", "A=1\n");
    let manifest = |extra: &str| {
        format!(
            "[docker]\nproject = \"{}\"\n\n[[docker.container]]\nname = \"app\"\nimage = \"{}\"\nenv_file = [\"present.env\", {{ path = \"absent.env\", required = false }}{extra}]\n",
            project.name,
            busybox_image()
        )
    };
    ws.write("geosync.toml", &manifest(""));
    ws.geosync(&["validate"]).assert_code(0);
    ws.write("geosync.toml", &manifest(", \"absent-too.env\""));
    let validate = ws.geosync(&["validate"]);
    validate.assert_code(1);
    assert!(
        validate.stderr.contains("geosync.toml:7:") && validate.stderr.contains("cannot read env file"),
        "{}",
        validate.stderr
    );
    assert!(validate.stderr.contains("absent-too.env"), "{}", validate.stderr);
    assert!(!validate.stderr.contains("absent.env:"), "{}", validate.stderr);
}

#[test]
fn flags_under_secret_like_names_stay_plain_values() {
    // docker/compose's network-test sample, without the `network_mode` of
    // its `mydb` service (refused, see compose_corpus.rs).
    let ws = Workspace::new();
    let sample = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/compose/docker-compose-e2e/network-test/compose.yaml"
    ))
    .unwrap();
    ws.write(
        "compose.yaml",
        &sample.replace("    network_mode: \"service:db\"\n", ""),
    );
    let import = ws.geosync(&["import-compose", "compose.yaml", "-o", "geosync.toml"]);
    import.assert_code(0);
    let manifest = ws.read("geosync.toml");
    assert!(
        manifest.contains("env = { \"MYSQL_ALLOW_EMPTY_PASSWORD\" = \"yes\" }"),
        "{manifest}"
    );
    assert!(!import.stderr.contains("secret references"), "{}", import.stderr);
    ws.geosync(&["validate"]).assert_code(0);
    let plan = ws.geosync(&["plan"]);
    assert!(
        plan.stdout.contains("MYSQL_ALLOW_EMPTY_PASSWORD"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("(sensitive)"), "{}", plan.stdout);
}

#[test]
fn build_target_and_arguments_are_built_and_a_changed_argument_rebuilds() {
    let project = Project::new();
    let ws = Workspace::new();
    let image = format!("{}-built:1", project.name);
    ws.write(
        "Dockerfile",
        &format!(
            "FROM {} AS base\nARG GREETING=none\nRUN echo \"$GREETING\" > /greeting\nFROM base AS development\nRUN echo dev > /stage\nFROM base AS production\nRUN echo prod > /stage\n",
            busybox_image()
        ),
    );
    let compose = |greeting: &str| {
        format!("services:\n  app:\n    image: {image}\n    build:\n      context: .\n      target: development\n      args:\n        GREETING: {greeting}\n")
    };
    ws.write("compose.yaml", &compose("hello"));
    let import = ws.geosync(&[
        "import-compose",
        "compose.yaml",
        "--project",
        &project.name,
        "-o",
        "geosync.toml",
    ]);
    import.assert_code(0);
    assert!(!import.stderr.contains("build `"), "{}", import.stderr);
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    let name = project.container("app");
    assert_eq!(cli(&["exec", &name, "cat", "/stage", "/greeting"]), "dev\nhello");
    let first = cli(&["image", "inspect", "--format", "{{.Id}}", &image]);

    ws.write("compose.yaml", &compose("bonjour"));
    ws.geosync(&[
        "import-compose",
        "compose.yaml",
        "--project",
        &project.name,
        "-o",
        "geosync.toml",
    ])
    .assert_code(0);
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    assert!(
        plan.stdout.contains(&format!("docker.image:{image}")),
        "{}",
        plan.stdout
    );
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert_eq!(cli(&["exec", &name, "cat", "/greeting"]), "bonjour");
    cli(&["rm", "-f", "-v", &name]);
    cli(&["rmi", &image, &first]);
}

#[test]
fn a_missing_bind_source_folder_is_created_as_compose_creates_it() {
    let project = Project::new();
    let ws = Workspace::new();
    ws.write(
        "geosync.toml",
        &container(
            &project,
            busybox_image(),
            "one",
            "\"./not-yet/here:/x\", \"./file.txt:/f.txt:ro\"",
        ),
    );
    ws.write("file.txt", "content");
    ws.geosync(&["apply", "--auto-approve"]).assert_code(0);
    assert!(ws.join("not-yet/here").is_dir());
    let name = project.container("app");
    cli(&["exec", &name, "sh", "-c", "echo written > /x/out"]);
    assert_eq!(ws.read("not-yet/here/out"), "written\n");
    assert_eq!(cli(&["exec", &name, "cat", "/f.txt"]), "content");
    let denied = std::process::Command::new("docker")
        .args(["exec", &name, "sh", "-c", "echo no > /f.txt"])
        .output()
        .unwrap();
    assert!(!denied.status.success(), "a read-only bind was written");
    ws.geosync(&["plan", "--detailed-exitcode"]).assert_code(0);
}
