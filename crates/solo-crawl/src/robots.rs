//! robots.txt: what a host lets the crawler fetch, and how often.
//!
//! Owns: turning a robots.txt response into [`RobotsRules`] (parsed with
//! `texting_robots` for the crawler's agent name) — a 2xx body is parsed
//! (unparsable counts as allow-all), a 4xx (no robots.txt) allows all, and
//! so do 5xx and network errors, as in Scrapy — and answering "may this URL
//! be fetched" and "what is the Crawl-delay". The frontier asks before
//! each request of the host. Must not: fetch (the engine fetches
//! `/robots.txt` once per host before its first page).

use std::time::Duration;

use texting_robots::Robot;
use url::Url;

/// A host's robots.txt rules.
pub struct RobotsRules {
    robot: Option<Robot>,
}

impl std::fmt::Debug for RobotsRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RobotsRules")
            .field("allow_all", &self.robot.is_none())
            .field("crawl_delay", &self.crawl_delay())
            .finish()
    }
}

/// The longest Crawl-delay honoured (a larger one is clamped to it).
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

impl RobotsRules {
    /// Rules that allow everything with no delay.
    pub fn allow_all() -> RobotsRules {
        RobotsRules { robot: None }
    }

    /// The rules for `agent` given the robots.txt fetch's status (`None`:
    /// it failed) and body.
    pub fn from_response(agent: &str, status: Option<u16>, body: &[u8]) -> RobotsRules {
        match status {
            Some(200..=299) => RobotsRules {
                robot: Robot::new(agent, body).ok(),
            },
            _ => RobotsRules::allow_all(),
        }
    }

    /// What the crawl makes of a host's robots.txt fetched with `status`
    /// (`None`: it failed), for the log.
    pub fn decision(&self, status: Option<u16>) -> String {
        match (status, &self.robot) {
            (Some(200..=299), Some(_)) => "obeying its rules".into(),
            (Some(200..=299), None) => "unparsable: allowing all".into(),
            (Some(s), _) => format!("none (HTTP {s}): allowing all"),
            (None, _) => "unreachable: allowing all".into(),
        }
    }

    /// Whether `url` may be fetched.
    pub fn allowed(&self, url: &Url) -> bool {
        self.robot
            .as_ref()
            .map_or(true, |r| r.allowed(url.as_str()))
    }

    /// The Crawl-delay for this agent, clamped to [`MAX_CRAWL_DELAY`].
    pub fn crawl_delay(&self) -> Option<Duration> {
        let d = self.robot.as_ref()?.delay?;
        (d.is_finite() && d > 0.0).then(|| Duration::from_secs_f32(d).min(MAX_CRAWL_DELAY))
    }
}

/// The robots.txt agent name of a User-Agent: its first word, without the
/// version (`solo-crawl/0.1 (+url)` → `solo-crawl`).
pub fn agent_name(user_agent: &str) -> String {
    let first = user_agent.split_whitespace().next().unwrap_or("*");
    first.split('/').next().unwrap_or("*").to_owned()
}

/// The examples that were this module's doctests, run as unit tests
/// now that the module is internal.
#[cfg(test)]
mod examples {
    use crate as solo_crawl;

    #[test]
    fn decisions_name_what_the_crawl_does() {
        use super::RobotsRules;
        let none = RobotsRules::allow_all();
        assert_eq!(none.decision(Some(404)), "none (HTTP 404): allowing all");
        assert_eq!(none.decision(None), "unreachable: allowing all");
        let rules = RobotsRules::from_response("bot", Some(200), b"User-agent: *\nDisallow: /x\n");
        assert_eq!(rules.decision(Some(200)), "obeying its rules");
    }

    #[test]
    fn example_1() {
        use solo_crawl::robots::RobotsRules;
        let rules = RobotsRules::from_response(
            "solo-crawl",
            Some(200),
            b"User-agent: *\nDisallow: /private/\nCrawl-delay: 2\n",
        );
        let u = |s| url::Url::parse(s).unwrap();
        assert!(rules.allowed(&u("http://a.test/public")));
        assert!(!rules.allowed(&u("http://a.test/private/x")));
        assert_eq!(rules.crawl_delay(), Some(std::time::Duration::from_secs(2)));
        assert!(RobotsRules::from_response("solo-crawl", Some(404), b"")
            .allowed(&u("http://a.test/private/x")));
    }

    #[test]
    fn example_2() {
        assert!(solo_crawl::robots::RobotsRules::allow_all()
            .crawl_delay()
            .is_none());
    }

    #[test]
    fn example_3() {
        assert_eq!(
            solo_crawl::robots::agent_name("solo-crawl/0.1 (+http://x)"),
            "solo-crawl"
        );
    }
}
