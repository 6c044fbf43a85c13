//! A tiny file system of the test's own (a tmpfs of a few pages, mounted
//! on a folder of the workspace and unmounted when dropped), to meet a
//! full disk for real. Mounting needs root, as tests/run and CI have.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SmallFs {
    root: PathBuf,
}

impl SmallFs {
    pub fn mount(at: &Path, kib: usize) -> SmallFs {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={kib}k,mode=0755"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "cannot mount a tmpfs on {} (the suite runs as root)",
            at.display()
        );
        SmallFs {
            root: at.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Takes every free byte with a filler file.
    pub fn fill(&self) {
        let mut filler = std::fs::File::create(self.root.join("filler")).unwrap();
        let chunk = [b'x'; 256];
        while filler.write_all(&chunk).is_ok() {}
        // The last chunk may have gone in part; what is left is under one chunk.
        while filler.write_all(b"x").is_ok() {}
    }

    /// Gives the filler's space back.
    pub fn free(&self) {
        std::fs::remove_file(self.root.join("filler")).unwrap();
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.root).status();
    }
}
