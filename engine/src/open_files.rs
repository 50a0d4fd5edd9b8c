//! The limit on open files. Each request in flight for a small object holds a connection and
//! a file (being read for an upload, written for a download), and a run keeps more files open
//! ahead of their turn: with the default soft limit of many Linux systems (1,024), 512
//! requests in flight ran out of descriptors ("Too many open files"). So the `ferry` command
//! raises the soft limit to the hard one at start ([`raise_limit`]), as Go programs (s5cmd
//! among them) do, and the requests in flight for small objects are kept within what the
//! limit leaves ([`requests_within_limit`]): the CLI's default, and
//! [`crate::config::ClientBuilder`]'s, so that a program embedding the engine under a low
//! limit gets fewer requests in flight rather than failures. (Measured with 2,000 small
//! files: at most 654 sockets and 513 files open at a cap of 512; 382 and 300 at 300.)

/// Descriptors kept out of the requests' share: standard streams, the runtime's, journals,
/// files opened ahead of their request (4 per part slot), connections being replaced.
const RESERVE: u64 = 256;

/// The most the soft limit is raised to.
const MOST: u64 = 65_536;

/// Raises this process's soft limit on open files towards the hard limit (at most 65,536)
/// and returns the soft limit in force after (`None` where it cannot be read). Failing to
/// raise it leaves it as it was. A program embedding the engine may call it at start, as
/// the `ferry` command does.
#[cfg(any(target_os = "linux", target_os = "macos"))]
#[allow(clippy::useless_conversion)] // `rlim_t` is narrower than u64 on some 32-bit targets
pub fn raise_limit() -> Option<u64> {
    let limit = limit()?;
    let wanted = u64::from(limit.rlim_max).min(MOST);
    if u64::from(limit.rlim_cur) < wanted {
        let raised = libc::rlimit {
            rlim_cur: libc::rlim_t::try_from(wanted).unwrap_or(limit.rlim_max),
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads one `rlimit` through a pointer to a live value.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return Some(wanted);
        }
    }
    Some(u64::from(limit.rlim_cur))
}

/// Raises nothing elsewhere (where `rlim_t` may be signed, or there is no such limit).
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn raise_limit() -> Option<u64> {
    None
}

/// The limits on open files in force now, if they can be read.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn limit() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live, initialized value.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    Some(limit)
}

/// The soft limit on open files in force now, if it can be read.
#[cfg(any(target_os = "linux", target_os = "macos"))]
#[allow(clippy::useless_conversion)] // `rlim_t` is narrower than u64 on some 32-bit targets
fn soft_limit() -> Option<u64> {
    limit().map(|limit| u64::from(limit.rlim_cur))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn soft_limit() -> Option<u64> {
    None
}

/// The most requests in flight for small objects that the open-file limit in force leaves
/// room for (`wanted` where the limit is unknown or ample), never below `floor`.
pub fn requests_within_limit(wanted: usize, floor: usize) -> usize {
    room(soft_limit().unwrap_or(0), wanted, floor)
}

/// [`requests_within_limit`] for a soft limit of `limit` open files (0: unknown).
fn room(limit: u64, wanted: usize, floor: usize) -> usize {
    if limit == 0 {
        return wanted;
    }
    // A file each, and a connection and a quarter: the pool opens a connection for a request
    // that then takes one freed meanwhile, so it holds up to ~1.3 per request in flight.
    let room = limit.saturating_sub(RESERVE) * 2 / 5;
    wanted
        .min(usize::try_from(room).unwrap_or(usize::MAX))
        .max(floor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_in_flight_leave_room_for_a_connection_and_a_file_each_within_the_limit() {
        assert_eq!(room(1_024, 512, 16), 307);
        assert_eq!(room(65_536, 512, 16), 512);
        assert_eq!(room(256, 512, 16), 16, "never below the floor");
        assert_eq!(room(0, 512, 16), 512, "an unknown limit leaves the default");
    }

    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    #[allow(clippy::useless_conversion)] // as in `soft_limit`
    fn the_soft_limit_is_raised_to_the_hard_one_or_left_as_it_was() {
        let after = raise_limit().expect("getrlimit works on unix");
        let limit = limit().expect("getrlimit works on unix");
        assert_eq!(u64::from(limit.rlim_cur), after);
        assert!(after >= u64::from(limit.rlim_max).min(MOST));
        assert_eq!(soft_limit(), Some(after));
    }
}
