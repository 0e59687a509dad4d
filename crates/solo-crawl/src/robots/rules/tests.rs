use super::{matches, parse, sitemaps, MAX_PARSED};

fn allowed(body: &str, agent: &str, path: &str) -> bool {
    parse(agent, body.as_bytes()).allowed(path.as_bytes())
}

#[test]
fn the_longest_match_wins_and_allow_wins_a_tie() {
    let body = "User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /a/b/c\n";
    assert!(!allowed(body, "bot", "/a/x"));
    assert!(allowed(body, "bot", "/a/b/x"));
    assert!(!allowed(body, "bot", "/a/b/c/x"));
    assert!(allowed(body, "bot", "/b"));
    let tie = "User-agent: *\nDisallow: /p\nAllow: /p\n";
    assert!(allowed(tie, "bot", "/page"));
    let tie = "User-agent: *\nAllow: /p\nDisallow: /p\n";
    assert!(allowed(tie, "bot", "/page"), "order does not matter");
}

#[test]
fn wildcards_and_the_end_anchor() {
    let body = "User-agent: *\nDisallow: /*.php$\nDisallow: /x*y\nAllow: /x*y*ok\n";
    assert!(!allowed(body, "bot", "/a/b.php"));
    assert!(allowed(body, "bot", "/a/b.php?q=1"), "$ ends the path");
    assert!(allowed(body, "bot", "/a/b.phps"));
    assert!(!allowed(body, "bot", "/x-and-y"));
    assert!(!allowed(body, "bot", "/xy"));
    assert!(allowed(body, "bot", "/x1y2ok"));
    assert!(allowed(body, "bot", "/yx"));
    // `$` inside a pattern is a character.
    assert!(!allowed("User-agent: *\nDisallow: /a$b\n", "bot", "/a$bc"));
    assert!(allowed("User-agent: *\nDisallow: /$\n", "bot", "/page"));
    assert!(!allowed("User-agent: *\nDisallow: /$\n", "bot", "/"));
}

#[test]
fn the_glob_match_backtracks_to_the_last_star() {
    assert!(matches(b"/*a*b$", b"/xaxbxab"));
    assert!(!matches(b"/*a*b$", b"/xaxbxa"));
    assert!(matches(b"/*aab", b"/aaab"));
    assert!(matches(b"*", b""));
    assert!(matches(b"/**", b"/"));
    assert!(!matches(b"/a*", b"/"));
    assert!(matches(b"/a*$", b"/a"));
}

#[test]
fn groups_naming_the_agent_are_merged_and_win_over_star() {
    let body = "User-agent: *\nDisallow: /\n\n\
                User-agent: OtherBot\nUser-agent: SoloBot\nDisallow: /one\n\n\
                User-agent: other\nDisallow: /two\n\n\
                user-agent: solobot\nDisallow: /three\n";
    assert!(!allowed(body, "SoloBot", "/one"));
    assert!(allowed(body, "SoloBot", "/two"));
    assert!(!allowed(body, "solobot", "/three"), "case does not matter");
    assert!(allowed(body, "SoloBot", "/four"), "star does not apply");
    assert!(!allowed(body, "nobody", "/four"));
}

#[test]
fn an_agent_line_names_its_product_token() {
    let body = "User-agent: SoloBot/2.1 (extra)\nDisallow: /x\n";
    assert!(!allowed(body, "solobot", "/x"));
    let body = "User-agent: Solo\nDisallow: /x\n";
    assert!(allowed(body, "solobot", "/x"), "a prefix is another agent");
}

#[test]
fn a_group_for_the_agent_without_rules_allows_all() {
    let body = "User-agent: *\nDisallow: /\n\nUser-agent: bot\nCrawl-delay: 3\n";
    assert!(allowed(body, "bot", "/anything"));
    assert_eq!(parse("bot", body.as_bytes()).delay(), Some(3.0));
    assert_eq!(parse("other", body.as_bytes()).delay(), None);
}

#[test]
fn rules_outside_any_group_apply_when_the_file_has_no_agent_line() {
    assert!(!allowed("Disallow: /x\n", "bot", "/x/y"));
    let body = "Disallow: /x\nUser-agent: other\nDisallow: /y\n";
    assert!(allowed(body, "bot", "/x/y"));
}

#[test]
fn odd_files_read_as_people_wrote_them() {
    let body = "\u{feff}User-Agent : *\r\nDISALLOW:/a # comment\r\nDisalow: /b\rdisallow /c\n\
                # Disallow: /d\nAllow:\nDisallow:\n";
    assert!(!allowed(body, "bot", "/a"));
    assert!(!allowed(body, "bot", "/b"), "a misspelling real files use");
    assert!(!allowed(body, "bot", "/c"), "no colon");
    assert!(allowed(body, "bot", "/d"), "a comment");
    assert!(allowed(body, "bot", "/e"));
    let html = "<html><body><h1>Not found</h1><p>Disallow this</p></body></html>";
    assert!(allowed(html, "bot", "/x"));
}

#[test]
fn non_ascii_rules_match_percent_encoded_paths() {
    let body = "User-agent: *\nDisallow: /café\nDisallow: /a b\n";
    assert!(!allowed(body, "bot", "/caf%C3%A9/menu"));
    assert!(!allowed(body, "bot", "/a%20b"));
}

#[test]
fn only_the_first_512_kib_is_read() {
    let mut body = String::from("User-agent: *\nDisallow: /early\n");
    while body.len() < MAX_PARSED {
        body.push_str("# padding padding padding padding padding\n");
    }
    body.push_str("Disallow: /late\n");
    assert!(!allowed(&body, "bot", "/early"));
    assert!(allowed(&body, "bot", "/late"));
    // A line cut by the limit is not read in part.
    let mut body = String::from("User-agent: *\n");
    body.push_str(&"#".repeat(MAX_PARSED - body.len() - 4));
    body.push_str("\nDisallow: /cut\n");
    assert!(allowed(&body, "bot", "/c"));
}

#[test]
fn tens_of_thousands_of_wildcard_rules_are_kept_as_their_bytes() {
    let mut body = String::from("User-agent: *\n");
    let mut n = 0;
    while body.len() < MAX_PARSED - 40 {
        body.push_str(&format!("Disallow: /*p{n}*q$\n"));
        n += 1;
    }
    let rules = parse("bot", body.as_bytes());
    assert_eq!(rules.len(), n);
    assert!(!allowed(&body, "bot", "/x/p7/yq"));
    assert!(allowed(&body, "bot", "/x/p7/yq/z"));
    assert!(allowed(&body, "bot", "/nothing"));
}

#[test]
fn sitemap_lines_of_any_group() {
    let body = "Sitemap: http://a.test/s1.xml\nUser-agent: x\nDisallow: /\nSITEMAP:http://a.test/s2.xml # c\n";
    assert_eq!(
        sitemaps(body.as_bytes()),
        ["http://a.test/s1.xml", "http://a.test/s2.xml"]
    );
}
