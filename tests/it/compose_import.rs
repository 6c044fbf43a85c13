//! `geosync import-compose` on geOrchestra's own compose file, laid out as
//! in its repository (tests/fixtures/README.md says where it comes from).

use crate::docker::Project;
use crate::support::Workspace;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/georchestra/docker");

fn georchestra_checkout() -> Workspace {
    let ws = Workspace::new();
    ws.write(
        "docker-compose.yml",
        &std::fs::read_to_string(format!("{FIXTURE}/docker-compose.yml")).unwrap(),
    );
    for entry in std::fs::read_dir(FIXTURE).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with(".envs-") {
            ws.write(
                &name,
                &std::fs::read_to_string(format!("{FIXTURE}/{name}")).unwrap(),
            );
        }
    }
    ws.write("secrets/slapd_password.txt", "a-slapd-password\n");
    std::fs::create_dir_all(ws.join("config")).unwrap();
    ws
}

#[test]
fn the_georchestra_composition_imports_and_plans_completely() {
    let ws = georchestra_checkout();
    let project = Project::new();
    let import = ws.geosync(&[
        "import-compose",
        "docker-compose.yml",
        "--project",
        &project.name,
        "-o",
        "geosync.toml",
    ]);
    import.assert_code(0);
    for note in [
        "note: `include: docker-compose.data-api.yml` is not imported",
        "note: service `kibana` has scale: 0 and is not imported",
        "note: service `elasticsearch`: `ulimits` is not supported",
    ] {
        assert!(import.stderr.contains(note), "{}", import.stderr);
    }
    let manifest = ws.read("geosync.toml");
    assert!(
        manifest.contains("depends_on = { \"envsubst\" = \"completed\" }"),
        "{manifest}"
    );
    assert!(
        manifest.contains("\"./secrets/slapd_password.txt:/run/secrets/slapd_password:ro\""),
        "{manifest}"
    );
    assert!(
        manifest.contains("curl -u elastic:$ELASTIC_PASSWORD"),
        "compose's $$ is a literal $"
    );
    assert!(manifest.contains("memory = \"4g\""), "{manifest}");
    assert!(
        !manifest.contains("name = \"kibana\""),
        "a scale: 0 service was imported"
    );

    ws.geosync(&["validate"]).assert_code(0);
    let plan = ws.geosync(&["plan", "--detailed-exitcode"]);
    plan.assert_code(2);
    let count = |kind: &str| {
        plan.stdout
            .lines()
            .filter(|l| l.starts_with(&format!("  + {kind}:")))
            .count()
    };
    assert_eq!(count("docker.container"), 18, "{}", plan.stdout);
    assert_eq!(count("docker.volume"), 13);
    assert_eq!(count("docker.network"), 1);
    assert_eq!(count("docker.image"), 18);
    assert!(plan
        .stdout
        .contains("Plan: 50 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged."));
    // Passwords from the env files are in the plan as (sensitive) only.
    assert!(
        plan.stdout.contains("+ env.PGPASSWORD: (sensitive)"),
        "{}",
        plan.stdout
    );
    assert!(!plan.stdout.contains("LDAPADMINPASSWORD: \"secret\""));
}
