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
