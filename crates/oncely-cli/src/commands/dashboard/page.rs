//! The dashboard's HTML page: server-rendered, no script, refreshed every few
//! seconds. Every value from the database is escaped.

use std::fmt::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use oncely::{EffectPolicy, Job, JobState};

use super::Snapshot;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| "-".into())
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}\
th{background:#f3f3f3}td.n{text-align:right}.doubt{background:#fff4e0}code{font-size:12px}";

/// The whole page.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"5\">\
         <title>oncely</title><style>{STYLE}</style></head><body><h1>oncely</h1>\
         <p>database time {}</p>",
        esc(&time(Some(s.overview.now)))
    );
    queues(&mut out, s);
    leader(&mut out, s);
    schedules(&mut out, s);
    jobs(
        &mut out,
        "In doubt — decide with <code>oncely jobs resolve ID --as completed|retry|discarded --reason TEXT</code>",
        "in-doubt",
        &s.in_doubt,
    );
    jobs(
        &mut out,
        "Failing (retryable and discarded, newest first)",
        "failing",
        &s.failing,
    );
    out.push_str("</body></html>");
    out
}

fn queues(out: &mut String, s: &Snapshot) {
    out.push_str("<h2>Queues</h2><table id=\"queues\"><tr><th>queue</th>");
    for state in JobState::ALL {
        let _ = write!(out, "<th>{}</th>", state.as_str());
    }
    out.push_str("</tr>");
    for (queue, states) in &s.overview.counts {
        let _ = write!(out, "<tr><td>{}</td>", esc(queue));
        for state in JobState::ALL {
            let n = states.get(state.as_str()).copied().unwrap_or(0);
            let class = if state == JobState::InDoubt && n > 0 {
                " doubt"
            } else {
                ""
            };
            let _ = write!(out, "<td class=\"n{class}\">{n}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn leader(out: &mut String, s: &Snapshot) {
    out.push_str("<h2>Leader</h2><p id=\"leader\">");
    match &s.overview.leader {
        Some(l) if s.overview.leader_live => {
            let _ = write!(
                out,
                "{} (term {}, elected {}, lease until {})",
                esc(&l.leader_id),
                l.term,
                esc(&time(Some(l.elected_at))),
                esc(&time(Some(l.expires_at)))
            );
        }
        Some(l) => {
            let _ = write!(
                out,
                "none live (last: {} term {})",
                esc(&l.leader_id),
                l.term
            );
        }
        None => out.push_str("none"),
    }
    out.push_str("</p>");
}

fn schedules(out: &mut String, s: &Snapshot) {
    out.push_str(
        "<h2>Schedules</h2><table id=\"schedules\"><tr><th>name</th><th>spec</th><th>queue</th>\
         <th>effect</th><th>last period</th><th>next period</th></tr>",
    );
    for r in &s.overview.schedules {
        let sc = &r.schedule;
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&sc.name),
            esc(&sc.spec.describe()),
            esc(&sc.queue),
            EffectPolicy::of_job(sc.at_most_once, sc.reconcilable),
            esc(&time(r.last_period)),
            esc(&time(sc.spec.next_after(s.overview.now).ok().flatten()))
        );
    }
    for b in &s.overview.broken_schedules {
        let _ = write!(
            out,
            "<tr class=\"broken\"><td>{}</td><td colspan=\"5\">broken, skipped: {}</td></tr>",
            esc(&b.name),
            esc(&b.reason)
        );
    }
    out.push_str("</table>");
}

fn jobs(out: &mut String, title: &str, id: &str, jobs: &[Job]) {
    let _ = write!(
        out,
        "<h2>{title}</h2><table id=\"{id}\"><tr><th>id</th><th>state</th><th>queue</th><th>kind</th>\
         <th>attempt</th><th>effect</th><th>last error</th></tr>"
    );
    for j in jobs {
        let last = j.errors.last().map(|e| e.error.as_str()).unwrap_or("");
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{}</td><td>{}</td></tr>",
            j.id,
            j.state,
            esc(&j.queue),
            esc(&j.kind),
            j.attempt,
            j.max_attempts,
            EffectPolicy::of_job(j.at_most_once, j.reconcilable),
            esc(last)
        );
    }
    out.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }
}
