//! The Redis setups operators run a shared crawl in, and what each is
//! told: a least-privilege ACL user, TLS (`rediss://`), a replica, an
//! evicting `maxmemory-policy`, memory running out, a password in the
//! URL's query; and the crawl's id: checked as a flag, a finished crawl
//! not run again, `delete`.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::harness::{
    self, free_port, redis_available, run, spawn, urls, wait, Redis, Site, TempDir, BIN,
};
use super::{assert_all_pages, await_lines, shared, worker, LIMIT};

/// `crawl` of a one-page site, through the Redis at `url`, as crawl `id`.
fn seed(url: &str, id: &str) -> std::process::Output {
    let site = Site::start(1, 1, Duration::ZERO);
    let start = site.seeds().remove(0);
    run(&["crawl", &start, "--redis", url, "--crawl-id", id])
}

/// stderr of a finished command.
fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A user with every command but `@dangerous` (`INFO`, `CONFIG` among
/// them) on the crawl keys runs a crawl, with a note that the eviction
/// policy could not be read. Before, the version check's `INFO` failed
/// with NOPERM.
#[test]
fn a_least_privilege_acl_user_runs_a_crawl() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 20, Duration::from_millis(5));
    let redis = Redis::start();
    let acl = [
        "ACL",
        "SETUSER",
        "crawler",
        "on",
        ">cpw",
        "~solo:*",
        "&*",
        "+@all",
        "-@dangerous",
    ];
    assert_eq!(redis.cmd(&acl), "+OK");
    let url = format!("redis://crawler:cpw@127.0.0.1:{}/0", redis.port);
    let dir = TempDir::new("acl");
    let out = dir.path("p.jsonl");
    let mut args = shared(&site, &redis, "acl", &out, &[]);
    let at = args
        .iter()
        .position(|a| a == &redis.url())
        .expect("--redis");
    args[at] = url.clone();
    let (code, err) = wait(spawn(&args), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("cannot read its maxmemory-policy"), "{err}");
    assert!(!err.contains("cpw"), "password shown: {err}");
    assert_all_pages(&site, &[out]);
    let o = run(&["status", "--redis", &url, "--crawl-id", "acl"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A Redis that may evict the crawl's keys (`allkeys-lru`) is refused
/// before anything is written, with what to set. Before, the crawl ran,
/// and lost URLs (or hung) once Redis evicted some.
#[test]
fn an_evicting_maxmemory_policy_is_refused_before_anything_is_written() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--maxmemory-policy",
        "allkeys-lru",
        "--maxmemory",
        "100mb",
    ]);
    let url = redis.url();
    let o = seed(&url, "ev");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("maxmemory-policy is allkeys-lru") && err.contains("set it to noeviction"),
        "{err}"
    );
    assert_eq!(redis.cmd(&["EXISTS", "solo:{ev}:settings"]), ":0");
    // Without a memory limit nothing is evicted: the crawl runs, warned
    // (it was refused, though it had run before: the re-audit's R1).
    assert_eq!(redis.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK");
    let o = seed(&url, "ev0");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("no maxmemory set"), "{err}");
    // volatile-* evicts only keys with a time to live: the crawl's have none.
    assert_eq!(redis.cmd(&["CONFIG", "SET", "maxmemory", "100mb"]), "+OK");
    assert_eq!(
        redis.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]),
        "+OK"
    );
    let o = seed(&url, "ev");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// `--redis` naming a replica is refused at once, naming its primary; a
/// primary demoted mid-crawl (READONLY for longer than a lease) stops the
/// workers with what to do. Before, `crawl` failed with Redis's raw text
/// and a worker paused for good.
#[test]
fn a_replica_is_refused_and_a_demoted_primary_stops_the_workers() {
    if !redis_available() {
        return;
    }
    let primary = Redis::start();
    let port = primary.port.to_string();
    let replica = Redis::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--replicaof",
        "127.0.0.1",
        &port,
    ]);
    let o = seed(&replica.url(), "r");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let said = format!("read-only replica of 127.0.0.1:{port}: point --redis at the primary");
    assert!(err.contains(&said), "{err}");

    let site = Site::start(2, 200, Duration::from_millis(50));
    let dir = TempDir::new("demoted");
    let out = dir.path("p.jsonl");
    let flags = ["--per-host=1", "--lease-timeout=1"];
    let c = spawn(&shared(&site, &primary, "demoted", &out, &flags));
    await_lines(std::slice::from_ref(&out), 5);
    // A replica of a primary that is not there: it keeps its data, read-only.
    let dead = free_port().to_string();
    assert_eq!(primary.cmd(&["REPLICAOF", "127.0.0.1", &dead]), "+OK");
    let (code, err) = wait(c, Duration::from_secs(60));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("point --redis at the primary"), "{err}");
}

/// Redis out of memory (`maxmemory`, noeviction) mid-crawl: the workers
/// stop saying what to do; once memory is raised, `worker` takes the
/// crawl up and every page is fetched. Before: Redis's raw OOM text.
#[test]
fn redis_out_of_memory_says_what_to_do_and_a_worker_resumes() {
    if !redis_available() {
        return;
    }
    let site = Site::start(2, 60, Duration::from_millis(30));
    let redis = Redis::start();
    let dir = TempDir::new("oom");
    let outs = vec![dir.path("a.jsonl"), dir.path("b.jsonl")];
    let flags = ["--per-host=1", "--lease-timeout=1"];
    let c = spawn(&shared(&site, &redis, "oom", &outs[0], &flags));
    await_lines(&outs[..1], 5);
    assert_eq!(redis.cmd(&["CONFIG", "SET", "maxmemory", "1"]), "+OK");
    let (code, err) = wait(c, LIMIT);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("at its maxmemory") && err.contains("raise maxmemory"),
        "{err}"
    );
    assert_eq!(redis.cmd(&["CONFIG", "SET", "maxmemory", "0"]), "+OK");
    let (code, err) = wait(spawn(&worker(&redis, "oom", &outs[1])), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_all_pages(&site, &outs);
}

/// A password in the URL's query (`unix://...?pass=`, the only way to give
/// one for a socket) is masked in every message and in `status`; a
/// missing password with a database in the URL is named as such. Before,
/// the password was printed, and "Authentication required" came without
/// the hint.
#[test]
fn a_password_in_the_urls_query_is_never_shown() {
    if !redis_available() {
        return;
    }
    let dir = TempDir::new("sock");
    let sock = dir.path("redis.sock");
    let sock_s = sock.display().to_string();
    let redis = Redis::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--unixsocket",
        &sock_s,
        "--requirepass",
        "s3cret",
    ]);
    let wrong = format!("unix://{sock_s}?db=6&pass=WRONGPASSWORD");
    for args in [
        vec!["status", "--redis", &wrong, "--crawl-id", "x"],
        vec![
            "crawl",
            "http://127.0.0.1:1/",
            "--redis",
            &wrong,
            "--crawl-id",
            "x",
        ],
    ] {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(!err.contains("WRONGPASSWORD"), "password shown: {err}");
        assert!(
            err.contains("pass=***") && err.contains("authentication failed"),
            "{err}"
        );
    }
    let right = format!("unix://{sock_s}?db=6&pass=s3cret");
    let o = seed(&right, "x");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run(&["status", "--redis", &right, "--crawl-id", "nope"]);
    let err = stderr(&o);
    assert!(err.contains("no crawl") && !err.contains("s3cret"), "{err}");
    // No password at all, with a database in the URL or without (then
    // the first command was the script's, which such a Redis cuts off
    // as "Protocol error: unauthenticated bulk length").
    for none in [
        format!("redis://127.0.0.1:{}/8", redis.port),
        format!("redis://127.0.0.1:{}/0", redis.port),
        format!("redis://127.0.0.1:{}", redis.port),
    ] {
        for args in [
            vec!["status", "--redis", &none, "--crawl-id", "x"],
            vec![
                "crawl",
                "http://127.0.0.1:1/",
                "--redis",
                &none,
                "--crawl-id",
                "x",
            ],
        ] {
            let o = run(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{err}");
            assert!(
                err.contains("authentication failed") && err.contains("USER:PASSWORD@"),
                "{args:?}: {err}"
            );
        }
    }
}

/// `crawl --redis` without a URL takes it from SOLO_CRAWL_REDIS, so the
/// password is in no process's command line (as with `worker`); unset,
/// it is a usage error saying so. Before, `crawl` had no way but the
/// command line, which `ps` shows every user for the whole crawl.
#[test]
fn crawl_takes_the_redis_url_from_the_environment() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--requirepass",
        "s3cret",
    ]);
    let url = format!("redis://:s3cret@127.0.0.1:{}/0", redis.port);
    let site = Site::start(1, 5, Duration::ZERO);
    let start = site.seeds().remove(0);
    let dir = TempDir::new("envurl");
    let out = dir.path("o.jsonl");
    let args = [
        "crawl",
        &start,
        "--redis",
        "--crawl-id",
        "env",
        "--output",
        out.to_str().unwrap(),
    ];
    let o = Command::new(BIN)
        .args(args)
        .env("SOLO_CRAWL_REDIS", &url)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(urls(&out).len(), 5, "{}", stderr(&o));
    let o = Command::new(BIN)
        .args(args)
        .env_remove("SOLO_CRAWL_REDIS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("SOLO_CRAWL_REDIS, which is not set"),
        "{}",
        stderr(&o)
    );
}

/// `--header @FILE` given with a relative name is stored with the
/// file's absolute path, so a worker started in another directory reads
/// the same path on its machine; a worker that cannot read it is told it
/// is the crawl's stored setting (exit 1), not a flag it was given (it
/// was told "--header @h.txt: No such file", exit 2, as a usage error).
#[test]
fn a_header_file_is_stored_by_its_absolute_path() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start_with(&["--save", "", "--appendonly", "no"]);
    let url = redis.url();
    let site = Site::start(1, 3, Duration::ZERO);
    let start = site.seeds().remove(0);
    let dir = TempDir::new("hdrfile");
    let here = dir.path("seeder");
    std::fs::create_dir_all(&here).unwrap();
    std::fs::write(here.join("h.txt"), "X-Test: 1\n").unwrap();
    let o = Command::new(BIN)
        .args(["crawl", &start, "--redis", &url, "--crawl-id", "hdr"])
        .args(["--header", "@h.txt", "--output", "/dev/null"])
        .current_dir(&here)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let abs = here.canonicalize().unwrap().join("h.txt");
    let stored = redis.cmd(&["GET", "solo:{hdr}:settings"]);
    assert!(stored.contains(&format!("@{}", abs.display())), "{stored}");
    // More work for the crawl, then a worker where the file is missing.
    let more = format!("{}/p/1.html?again", start.trim_end_matches('/'));
    let o = run(&["push", "--redis", &url, "--crawl-id", "hdr", &more]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_file(&abs).unwrap();
    let o = Command::new(BIN)
        .args([
            "worker",
            "--redis",
            &url,
            "--crawl-id",
            "hdr",
            "--output",
            "/dev/null",
        ])
        .current_dir(dir.path(""))
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("the settings of crawl \"hdr\" in Redis: --header"),
        "{err}"
    );
}

/// `--crawl-id` is checked as a flag (exit 2) before Redis is touched; a
/// finished crawl is not run again in silence; `delete` removes one
/// crawl's keys, its glob characters matching only themselves, and
/// refuses while workers are live. Before: exit 1 after the settings were
/// written, and a rerun of a finished crawl said `pages 0`, exit 0.
#[test]
fn crawl_ids_are_checked_finished_crawls_say_so_and_delete_removes_one_crawl() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start();
    let url = redis.url();
    for bad in ["", "a{b"] {
        let o = seed(&url, bad);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("--crawl-id"), "{err}");
    }
    assert_eq!(redis.cmd(&["DBSIZE"]), ":0", "nothing written");

    let site = Site::start(1, 10, Duration::from_millis(1));
    let dir = TempDir::new("finished");
    let out = dir.path("p.jsonl");
    for id in ["x*", "xy"] {
        let (code, err) = wait(spawn(&shared(&site, &redis, id, &out, &[])), LIMIT);
        assert_eq!(code, Some(0), "{err}");
    }
    let (code, err) = wait(spawn(&shared(&site, &redis, "x*", &out, &[])), LIMIT);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("crawl \"x*\" is already finished") && err.contains("solo-crawl delete"),
        "{err}"
    );
    let (code, err) = wait(spawn(&worker(&redis, "xy", &dir.path("w.jsonl"))), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("crawl \"xy\" is already finished"), "{err}");
    // A live worker (its lease far off) holds the crawl.
    let far = "99999999999999";
    assert_eq!(redis.cmd(&["ZADD", "solo:{x*}:workers", far, "w"]), ":1");
    let o = run(&["delete", "--redis", &url, "--crawl-id", "x*"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("1 live worker") && err.contains("--force"),
        "{err}"
    );
    let o = run(&["delete", "--redis", &url, "--crawl-id", "x*", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("removed crawl \"x*\"") && said.contains("seen") && said.ends_with(")\n"),
        "{said:?}"
    );
    assert!(redis.keys("solo:{x\\*}:*").is_empty());
    assert!(
        !redis.keys("solo:{xy}:*").is_empty(),
        "another crawl's keys went"
    );
    // Deleted, it runs again from the start.
    std::fs::remove_file(&out).expect("output");
    let (code, err) = wait(spawn(&shared(&site, &redis, "x*", &out, &[])), LIMIT);
    assert_eq!(code, Some(0), "{err}");
    assert_all_pages(&site, &[out]);
    let o = run(&["delete", "--redis", &url, "--crawl-id", "gone"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no crawl \"gone\""));
}

/// `rediss://`: a crawl through a Redis that speaks TLS only on its TLS
/// port, trusting its CA through SSL_CERT_FILE; an untrusted certificate
/// is one clear error. Before: "not a Redis URL (... TLS, the feature is
/// not enabled)".
#[test]
fn a_crawl_runs_through_redis_over_tls() {
    if !redis_available() {
        return;
    }
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let dir = TempDir::new("tls");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    let (ca_pem, cert, key) = (
        dir.path("ca.pem"),
        dir.path("cert.pem"),
        dir.path("key.pem"),
    );
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    let tls_port = free_port().to_string();
    let path = |p: &std::path::Path| p.display().to_string();
    let (cert_s, key_s, ca_s) = (path(&cert), path(&key), path(&ca_pem));
    let redis = Redis::start_with(&[
        "--save",
        "",
        "--appendonly",
        "no",
        "--tls-port",
        &tls_port,
        "--tls-cert-file",
        &cert_s,
        "--tls-key-file",
        &key_s,
        "--tls-ca-cert-file",
        &ca_s,
        "--tls-auth-clients",
        "no",
    ]);
    let site = Site::start(2, 20, Duration::from_millis(5));
    let out = dir.path("p.jsonl");
    let mut args = shared(&site, &redis, "tls", &out, &[]);
    let tls_url = format!("rediss://127.0.0.1:{tls_port}/0");
    let at = args
        .iter()
        .position(|a| a == &redis.url())
        .expect("--redis");
    args[at] = tls_url.clone();
    let crawl = |trust: Option<&std::path::Path>| {
        let mut c = Command::new(harness::BIN);
        c.args(&args).stdout(Stdio::null()).stderr(Stdio::piped());
        match trust {
            Some(ca) => c.env("SSL_CERT_FILE", ca),
            None => c
                .env("SSL_CERT_FILE", "/nonexistent")
                .env("SSL_CERT_DIR", "/nonexistent"),
        };
        wait(c.spawn().expect("the binary runs"), LIMIT)
    };
    let (code, err) = crawl(None);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&tls_url) && !err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, err) = crawl(Some(&ca_pem));
    assert_eq!(code, Some(0), "{err}");
    assert_all_pages(&site, &[out]);
    assert_eq!(redis.cmd(&["EXISTS", "solo:{tls}:settings"]), ":1");
}

/// A credential header never goes into Redis, where whoever reads the
/// Redis would read it: given inline it is refused (exit 2, saying how to
/// give it), from `--header @FILE` it is sent, and Redis holds the file's
/// name only. Before, an inline bearer token sat in the stored settings
/// in clear.
#[test]
fn a_credential_header_never_goes_into_redis() {
    if !redis_available() {
        return;
    }
    const TOKEN: &str = "tok-5d1e-never-in-redis";
    let redis = Redis::start_with(&["--save", "", "--appendonly", "no", "--rdbcompression", "no"]);
    let site = Site::start(1, 5, Duration::ZERO);
    let dir = TempDir::new("cred");
    let out = dir.path("pages.jsonl");
    let inline = format!("Authorization: Bearer {TOKEN}");
    let args = shared(&site, &redis, "cred", &out, &["--header", &inline]);
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--header @FILE") && !err.contains(TOKEN),
        "{err}"
    );
    assert!(
        !err.contains("  "),
        "one sentence, no runs of spaces: {err}"
    );
    assert!(
        redis.keys("solo:*").is_empty(),
        "the refused crawl wrote to Redis"
    );
    // From a file: the crawl runs, and the token is nowhere in Redis.
    let file = dir.path("headers.txt");
    std::fs::write(&file, format!("{inline}\n")).unwrap();
    let at = format!("@{}", file.display());
    let args = shared(&site, &redis, "cred", &out, &["--header", &at]);
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_all_pages(&site, &[out]);
    assert_eq!(redis.cmd(&["SAVE"]), "+OK");
    let dump = std::fs::read(redis.dir.path("dump.rdb")).unwrap();
    let has = |needle: &str| dump.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(has("headers.txt"), "the settings keep the file's name");
    assert!(!has(TOKEN), "the token is in Redis");
}

/// A `--redis` crawl whose start URLs all fail exits 1 and names them, as
/// an in-process crawl does, whichever worker fetched them (here two
/// processes); `status` counts them. One start URL fetched is enough for
/// exit 0. Before, the seeder exited 0 (its start URLs "may have been
/// fetched by other workers").
#[test]
fn a_redis_crawl_whose_start_urls_fail_exits_1() {
    if !redis_available() {
        return;
    }
    let redis = Redis::start();
    let dir = TempDir::new("seedfail");
    let dead = format!("http://127.0.0.1:{}/", free_port());
    let out = dir.path("p.jsonl");
    let out_s = out.display().to_string();
    let o = run(&[
        "crawl",
        &dead,
        "--redis",
        &redis.url(),
        "--crawl-id",
        "dead",
        "--workers",
        "2",
        "--retries",
        "0",
        "--output",
        &out_s,
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("start URL failed: {dead}: ")) && err.contains("Connection refused"),
        "{err}"
    );
    assert!(err.contains("no start URL could be fetched"), "{err}");
    let o = run(&["status", "--redis", &redis.url(), "--crawl-id", "dead"]);
    let status = String::from_utf8_lossy(&o.stdout);
    assert!(
        status.contains("start URLs   0 fetched, 1 failed"),
        "{status}"
    );
    // With a start URL that answers too, the crawl did its job.
    let site = Site::start(1, 3, Duration::ZERO);
    let mut args = shared(&site, &redis, "half", &out, &["--retries", "0"]);
    args.insert(1, dead.clone());
    let o = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("start URL failed"), "{err}");
    // A start URL robots.txt disallows leaves no record and fails no
    // fetch: the crawl fetched nothing, exit 1 as in-process (the
    // re-audit's 1).
    let demo = solo_crawl::demo_site::DemoSite::start(10).unwrap();
    let private = format!("{}private/1", demo.url());
    let o = run(&[
        "crawl",
        &private,
        "--redis",
        &redis.url(),
        "--crawl-id",
        "robots",
        "--output",
        &out_s,
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("robots.txt may disallow"), "{err}");
}
