use super::*;
use crate::engine::test_tree::write;

/// (file, module path, modules beside it) of every file of the project's
/// only crate.
fn tree(root: &Path) -> Vec<(String, String, bool)> {
    let krate = crates::crates(root).expect("crates").remove(0);
    files(root, &krate, |file| {
        let source = std::fs::read_to_string(root.join(&file.rel)).map_err(|e| e.to_string())?;
        let analysed = super::super::analyse(&source, &file.module).map_err(|e| e.to_string())?;
        Ok((source, analysed))
    })
    .into_iter()
    .map(|f| (f.file.rel, f.file.module, f.modules_beside))
    .collect()
}

fn row(rel: &str, module: &str, beside: bool) -> (String, String, bool) {
    (rel.to_owned(), module.to_owned(), beside)
}

#[test]
fn files_are_found_from_the_targets_down_their_mod_declarations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"geo-kit\"\n\n[lib]\npath = \"src/geo.rs\"\n\n\
         [[bin]]\nname = \"draw-it\"\npath = \"tools/draw.rs\"\n",
    );
    write(
        root,
        "src/geo.rs",
        "mod shapes;\nmod m;\n#[path = \"sys/unix.rs\"]\nmod imp;\n\
         pub mod outer {\n    mod deep;\n}\n#[cfg(test)]\nmod tests;\n",
    );
    write(root, "src/shapes.rs", "mod circle;\n");
    write(root, "src/shapes/circle.rs", "");
    write(root, "src/m/mod.rs", "mod n;\n");
    write(root, "src/m/n.rs", "");
    write(root, "src/sys/unix.rs", "mod fd;\n");
    write(root, "src/sys/fd.rs", "");
    write(root, "src/outer/deep.rs", "");
    write(root, "src/tests.rs", "");
    write(root, "src/orphan.rs", "");
    write(root, "tools/draw.rs", "mod args;\n");
    write(root, "tools/args.rs", "");
    assert_eq!(
        tree(root),
        [
            row("src/geo.rs", "geo_kit", true),
            row("src/m/mod.rs", "geo_kit::m", true),
            row("src/m/n.rs", "geo_kit::m::n", false),
            row("src/orphan.rs", "geo_kit::orphan", false),
            row("src/outer/deep.rs", "geo_kit::outer::deep", false),
            row("src/shapes.rs", "geo_kit::shapes", false),
            row("src/shapes/circle.rs", "geo_kit::shapes::circle", false),
            row("src/sys/fd.rs", "geo_kit::imp::fd", false),
            row("src/sys/unix.rs", "geo_kit::imp", true),
            row("src/tests.rs", "geo_kit::tests", false),
            row("tools/args.rs", "draw_it::args", false),
            row("tools/draw.rs", "draw_it", true),
        ]
    );
}

#[test]
fn cargos_default_targets_keep_their_module_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "Cargo.toml", "[package]\nname = \"geo\"\n");
    write(root, "src/lib.rs", "");
    write(root, "src/main.rs", "");
    write(root, "src/bin/tool.rs", "");
    write(root, "src/bin/big/main.rs", "mod part;\n");
    write(root, "src/bin/big/part.rs", "");
    assert_eq!(
        tree(root),
        [
            row("src/bin/big/main.rs", "big", true),
            row("src/bin/big/part.rs", "big::part", false),
            row("src/bin/tool.rs", "tool", true),
            row("src/lib.rs", "geo", true),
            row("src/main.rs", "geo::main", true),
        ]
    );
}

#[test]
fn a_path_outside_the_project_is_never_read_or_written() {
    assert_eq!(within_project("src/./a/../b.rs").as_deref(), Some("src/b.rs"));
    assert_eq!(within_project("../shared/lib.rs"), None);
    assert_eq!(within_project("src/../../x.rs"), None);
    assert_eq!(within_project("/etc/lib.rs"), None);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "lib.rs", "pub fn f() {}\n");
    write(
        root,
        "Cargo.toml",
        &format!(
            "[package]\nname = \"geo\"\n\n[lib]\npath = {:?}\n\n[[bin]]\nname = \"geo\"\npath = \"src/main.rs\"\n",
            outside.path().join("lib.rs").display().to_string()
        ),
    );
    write(root, "src/main.rs", "#[path = \"../../elsewhere.rs\"]\nmod far;\n");
    assert_eq!(tree(root), [row("src/main.rs", "geo::main", true)]);
}
