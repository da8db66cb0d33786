//! Programs started for jobs die with their worker.
//!
//! When a worker process is killed (`kill -9`, the OOM killer), a program it
//! started would otherwise live on as an orphan and could still perform its
//! effect after the job was rescued, reconciled as "not done" and run again
//! elsewhere. On Linux the child asks the kernel for SIGKILL when its parent
//! thread ends (`PR_SET_PDEATHSIG`); the tokio worker thread that spawns it
//! lives as long as the runtime. Grandchildren the program starts are its
//! own to manage. Elsewhere this is a no-op.
//!
//! This is the one place the library uses `unsafe`: a `pre_exec` hook that
//! runs between fork and exec and only calls async-signal-safe functions.

/// Arranges for the program of `command` to be killed when this worker dies.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
pub(crate) fn die_with_parent(command: &mut tokio::process::Command) {
    let parent = std::process::id();
    // SAFETY: the hook runs in the forked child before exec; prctl and
    // getppid are async-signal-safe, and nothing is allocated or locked.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() as u32 != parent {
                return Err(std::io::Error::other("the worker exited"));
            }
            Ok(())
        });
    }
}

/// Arranges for the program of `command` to be killed when this worker dies
/// (not supported on this platform: a no-op).
#[cfg(not(target_os = "linux"))]
pub(crate) fn die_with_parent(_command: &mut tokio::process::Command) {}
