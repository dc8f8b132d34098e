use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use tracer_common::COMM_LEN;

use super::parse::*;
use crate::sink::SinkSpec;
use crate::sink::net::Endpoint;
use super::*;

#[test]
fn syscall_names_resolve_and_unknown_ones_are_errors() {
    assert_eq!(parse_syscalls(DEFAULT_SYSCALLS).unwrap(), vec![56, 435, 9, 10, 61]);
    assert_eq!(parse_syscalls("mmap, mmap").unwrap(), vec![9]);
    let e = parse_syscalls("mmap,frobnicate").unwrap_err();
    assert!(e.contains("unknown syscall 'frobnicate'"), "{e}");
    assert!(parse_syscalls("\x1b[31m").unwrap_err().contains("\\u{1b}"));
    assert!(parse_syscalls(",").is_err());
}

#[test]
fn all_and_strace_classes() {
    let all = parse_syscalls("all").unwrap();
    assert_eq!(all.len(), tracer_common::SYSCALL_BITMAP_BITS);
    let mem = parse_syscalls("%memory").unwrap();
    assert!(mem.contains(&9) && mem.contains(&12) && !mem.contains(&56));
    // A class and names mix; duplicates collapse.
    let mix = parse_syscalls("%process,mmap,clone").unwrap();
    assert_eq!(mix.iter().filter(|&&n| n == 56).count(), 1);
    assert!(mix.contains(&9) && mix.contains(&231) && mix.contains(&61));
    assert!(parse_syscalls("%files").unwrap_err().contains("unknown syscall class '%files'"));
    assert_eq!(parse_format("text"), Ok(crate::pipeline::output::Format::Text));
    assert!(parse_format("yaml").is_err());
    let c = Cli::try_parse_from(["tracer", "--format", "text", "--no-correlate"]).unwrap();
    assert_eq!((c.format, c.no_correlate, c.no_lifecycle), (crate::pipeline::output::Format::Text, true, false));
}

#[test]
fn ringbuf_sizes() {
    assert_eq!(parse_ringbuf_size("8M"), Ok(8 << 20));
    assert_eq!(parse_ringbuf_size("4096"), Ok(4096));
    assert_eq!(parse_ringbuf_size("64k"), Ok(64 << 10));
    assert!(parse_ringbuf_size("3M").is_err());
    assert!(parse_ringbuf_size("2048").is_err());
    assert!(parse_ringbuf_size("2G").is_err());
    assert!(parse_ringbuf_size("lots").is_err());
    assert!(parse_ringbuf_size("99999999999999999999G").is_err());
}

#[test]
fn defaults() {
    let c = Cli::try_parse_from(["tracer"]).unwrap();
    assert_eq!(c.ringbuf_size, DEFAULT_RINGBUF_SIZE);
    assert_eq!(c.syscalls, DEFAULT_SYSCALLS);
    assert_eq!(filter_args(&c).unwrap(), FilterArgs::default());
    assert!(c.command.is_empty());
}

fn padded(s: &[u8]) -> [u8; COMM_LEN] {
    let mut c = [0; COMM_LEN];
    c[..s.len()].copy_from_slice(s);
    c
}

#[test]
fn filters_repeat_and_drop_duplicates() {
    let c = Cli::try_parse_from([
        "tracer", "--comm", "nginx", "--pid", "12", "--comm", "php-fpm", "--cgroup", "a/b", "--pid", "7",
        "--comm", "nginx", "--cgroup", "/sys/fs/cgroup/x", "--pid", "12",
    ])
    .unwrap();
    let f = filter_args(&c).unwrap();
    assert_eq!(f.comms, vec![padded(b"nginx"), padded(b"php-fpm")]);
    assert_eq!(f.cgroups, vec![PathBuf::from("a/b"), PathBuf::from("/sys/fs/cgroup/x")]);
    assert_eq!(f.pids, vec![12, 7]);
}

#[test]
fn comm_of_15_bytes_is_kept_and_16_is_an_error_that_says_why() {
    assert_eq!(parse_comm(OsStr::new("abcdefghijklmno")), Ok(*b"abcdefghijklmno\0"));
    let e = parse_comm(OsStr::new("abcdefghijklmnop")).unwrap_err();
    assert_eq!(
        e,
        "--comm 'abcdefghijklmnop' is 16 bytes long; the kernel keeps only the first 15 bytes of a task's name, so it would never match"
    );
    // Length is in bytes, not characters: 8 × 'é' is 16 bytes.
    assert!(parse_comm(OsStr::new("éééééééé")).unwrap_err().contains("is 16 bytes long"));
    assert!(parse_comm(OsStr::new("")).is_err());
}

#[test]
fn comm_bytes_are_taken_as_given_and_echoed_escaped() {
    // Control bytes and invalid UTF-8 are legal in a comm.
    let raw = OsStr::from_bytes(b"\x1b[31m\xff\tx");
    assert_eq!(parse_comm(raw), Ok(padded(b"\x1b[31m\xff\tx")));
    let long = OsStr::from_bytes(b"\x1b[31mred\xff\n0123456789");
    let e = parse_comm(long).unwrap_err();
    assert!(e.starts_with("--comm '\\x1b[31mred\\xff\\n0123456789' is 20 bytes long"), "{e}");
    assert!(!e.contains('\x1b') && !e.contains('\n'), "error is one printable line: {e:?}");
    // Non-UTF-8 reaches us through clap intact.
    let c = Cli::try_parse_from([OsStr::new("tracer"), OsStr::new("--comm"), raw]).unwrap();
    assert_eq!(filter_args(&c).unwrap().comms, vec![padded(b"\x1b[31m\xff\tx")]);
}

#[test]
fn pids_must_be_positive_pid_t_values() {
    assert_eq!(parse_pid("4321"), Ok(4321));
    assert!(parse_pid("0").is_err());
    assert!(parse_pid("-1").is_err());
    assert!(parse_pid("2147483648").is_err());
    assert_eq!(parse_pid("12ab"), Err("'12ab' is not a process id".into()));
    assert!(Cli::try_parse_from(["tracer", "--pid", "x"]).is_err());
}

#[test]
fn too_many_cgroups_is_an_error() {
    let mut args = vec!["tracer".to_string()];
    for i in 0..=MAX_CGROUPS {
        args.push("--cgroup".into());
        args.push(format!("g{i}"));
    }
    let e = filter_args(&Cli::try_parse_from(&args).unwrap()).unwrap_err();
    assert_eq!(e, "--cgroup given 65 times; at most 64 paths");
}

#[test]
fn command_follows_double_dash_with_its_own_options() {
    let c = Cli::try_parse_from(["tracer", "--comm", "x", "--", "ls", "-l", "--pid", "3"]).unwrap();
    assert_eq!(c.command, vec!["ls", "-l", "--pid", "3"]);
    assert!(c.pids.is_empty(), "options after -- belong to the command");
    // Without `--` a bare word is not taken as a command.
    assert!(Cli::try_parse_from(["tracer", "ls"]).is_err());
}

mod daemon_args {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_bytes("100M"), Ok(100 << 20));
        assert_eq!(parse_bytes("64KiB"), Ok(64 << 10));
        assert_eq!(parse_bytes("1g"), Ok(1 << 30));
        assert_eq!(parse_bytes("777"), Ok(777));
        assert!(parse_bytes("0").is_err());
        assert!(parse_bytes("ten").is_err());
        assert!(parse_queue_size("1K").is_err());
        assert_eq!(parse_duration("10s"), Ok(std::time::Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(std::time::Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(std::time::Duration::from_millis(1500)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 fortnights").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn sinks_default_to_stdout_and_keep_their_order() {
        let c = Cli::try_parse_from(["tracer", "--stats-interval", "1s"]).unwrap();
        assert_eq!(c.daemon.sinks(), vec![SinkSpec::Stdout]);
        let c = Cli::try_parse_from([
            "tracer", "--output", "/var/log/a", "--output", "-", "--output-dir", "/d", "--socket", "tcp:h:1", "--syslog",
        ])
        .unwrap();
        assert_eq!(
            c.daemon.sinks(),
            vec![
                SinkSpec::File("/var/log/a".into()),
                SinkSpec::Stdout,
                SinkSpec::Dir("/d".into()),
                SinkSpec::Socket(Endpoint::Tcp("h:1".into())),
                SinkSpec::Syslog(Endpoint::Unix("/dev/log".into())),
            ]
        );
        let c = Cli::try_parse_from(["tracer", "--output", "/a", "--output", "-", "--output", "/a"]).unwrap();
        assert_eq!(c.daemon.sinks(), vec![SinkSpec::File("/a".into()), SinkSpec::Stdout], "one writer per destination");
        let c = Cli::try_parse_from(["tracer", "--syslog", "udp:10.0.0.1:514"]).unwrap();
        assert_eq!(c.daemon.syslog, Some(Endpoint::Udp("10.0.0.1:514".into())));
        assert!(Cli::try_parse_from(["tracer", "--socket", "udp:h:1"]).is_err());
        assert!(Cli::try_parse_from(["tracer", "--metrics", "localhost"]).is_err());
    }

    #[test]
    fn subcommands() {
        let c = Cli::try_parse_from(["tracer", "completions", "bash"]).unwrap();
        assert!(matches!(c.subcommand, Some(Command::Completions { shell: clap_complete::Shell::Bash })));
        assert!(matches!(Cli::try_parse_from(["tracer", "man"]).unwrap().subcommand, Some(Command::Man)));
        assert!(Cli::try_parse_from(["tracer", "completions", "cmd.exe"]).is_err());
    }

    #[test]
    fn man_page_and_completions_come_from_the_clap_definition() {
        let mut man = Vec::new();
        run_command(&Command::Man, &mut man).unwrap();
        let man = String::from_utf8(man).unwrap();
        assert!(man.starts_with(".ie"), "roff: {}", &man[..40]);
        for flag in ["rotate\\-size", "stats\\-interval", "syscalls", "TRACER_QUEUE_SIZE"] {
            assert!(man.contains(flag), "man page lacks {flag}");
        }
        let mut bash = Vec::new();
        run_command(&Command::Completions { shell: clap_complete::Shell::Bash }, &mut bash).unwrap();
        let bash = String::from_utf8(bash).unwrap();
        assert!(bash.contains("--output-dir") && bash.contains("complete -F"), "{}", &bash[..200]);
    }
}
