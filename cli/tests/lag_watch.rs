//! `lag --watch` in a real terminal (tmux): the table redraws while a group consumes. The
//! captured screens are kept under build/cli/.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux").arg("-L").arg(socket).args(args).output().expect("run tmux")
}

#[test]
fn lag_watch_updates_in_a_terminal_while_a_group_consumes() {
    if Command::new("tmux").arg("-V").output().map(|o| !o.status.success()).unwrap_or(true) {
        println!("SKIPPED: tmux is not installed (apt-get install tmux), so lag --watch is not checked in a terminal");
        return;
    }
    let t = unique("watch");
    let g = unique("watchers");
    create_topic(&t, 2);
    run(&["produce", &t, "--count", "1500", "--size", "10"]).ok();
    // The group starts with committed offsets at the beginning: lag 1500.
    run(&["offsets", "reset", &g, "--topic", &t, "--to-earliest", "--execute"]).ok();

    let socket = unique("tmux");
    let bin = env!("CARGO_BIN_EXE_polykafka");
    let shell = format!(
        "env KAFKA_BOOTSTRAP={} POLYKAFKA_CONFIG=/nonexistent NO_COLOR=1 {bin} lag {g} --watch --interval 0.3; sleep 30",
        bootstrap()
    );
    let o = tmux(&socket, &["new-session", "-d", "-s", "w", "-x", "110", "-y", "20", &shell]);
    assert!(o.status.success(), "{o:?}");
    let capture = || String::from_utf8_lossy(&tmux(&socket, &["capture-pane", "-p", "-t", "w"]).stdout).trim_end().to_string();
    let total = |screen: &str| -> Option<i64> {
        screen.lines().find(|l| l.starts_with("TOTAL")).and_then(|l| l.split_whitespace().last()).and_then(|n| n.parse().ok())
    };
    let committed = |screen: &str| -> Option<i64> {
        screen.lines().find(|l| l.starts_with("TOTAL")).and_then(|l| l.split_whitespace().nth(1)).and_then(|n| n.parse().ok())
    };
    let wait_for = |what: &str, ok: &dyn Fn(&str) -> bool| -> String {
        let start = Instant::now();
        loop {
            let s = capture();
            if ok(&s) {
                return s;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "the screen never showed {what}:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let before = wait_for("lag 1500", &|s| total(s) == Some(1500) && s.contains("Empty"));

    // A member consumes, committing every 100 ms; more records arrive while it does.
    let mut member = cmd(&["-X", "auto.commit.interval.ms=100", "consume", &t, "-g", &g, "--idle-timeout", "20"]);
    member.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = member.spawn().unwrap();
    wait_for("the member (Stable)", &|s| s.contains("Stable") && committed(s) == Some(1500));
    // 500 more records over 2.5 s: the screen shows the group's committed offsets moving.
    let mut more = cmd(&["produce", &t, "--count", "500", "--size", "10", "--rate", "200"]);
    more.stdout(std::process::Stdio::null());
    let mut producer = more.spawn().unwrap();
    let during = wait_for("the committed offsets moving", &|s| committed(s).is_some_and(|c| c > 1500 && c < 2000));
    assert!(producer.wait().unwrap().success());
    let after = wait_for("lag 0 with 2000 records consumed", &|s| {
        s.contains("Stable") && total(s) == Some(0) && s.lines().any(|l| l.starts_with("TOTAL") && l.contains("2000"))
    });
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    tmux(&socket, &["kill-server"]);

    assert_ne!(before, after);
    assert!(before.starts_with(&format!("group '{g}': Empty, 0 members, lag 1500")), "{before}");
    let dir = root().join("build/cli");
    std::fs::create_dir_all(&dir).unwrap();
    let kept = format!("--- before the member joined\n{before}\n--- while it consumed\n{during}\n--- caught up\n{after}\n");
    std::fs::write(dir.join("lag-watch.txt"), &kept).unwrap();
    println!("{kept}");
    run(&["groups", "delete", &g]).ok();
}
