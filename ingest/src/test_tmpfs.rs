//! Test support: a small tmpfs for the full-disk tests.

use std::path::Path;

/// A small tmpfs, unmounted when dropped. Mounting needs root (CAP_SYS_ADMIN): a test
/// that uses it fails rather than skip without it.
pub(crate) struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    /// Mounts one of `size` (as mount(8) takes it: `256k`).
    pub(crate) fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount(8) runs");
        assert!(
            out.status.success(),
            "cannot mount a {size} tmpfs for the full-disk test (it needs root; it does not skip): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir)
    }

    /// Where it is mounted.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.0.path())
            .status();
    }
}
