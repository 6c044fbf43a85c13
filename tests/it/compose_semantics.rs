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
