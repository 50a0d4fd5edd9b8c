//! Sanitizing what a foreign body or a key carries before it reaches a terminal: a short
//! excerpt, an HTML page's title, text without tags, one line, printable characters.

pub(super) const EXCERPT_CHARS: usize = 160;
/// How much of a foreign body is looked at for the excerpt, in bytes.
const EXCERPT_SCAN: usize = 4096;

/// A short, single-line, printable excerpt of a foreign body: an HTML page's `<title>` when
/// it has one, else its text without tags.
pub(super) fn excerpt(body: &[u8]) -> String {
    let head = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_SCAN)]);
    let text = html_title(&head).unwrap_or_else(|| strip_tags(&head));
    one_line(&text, EXCERPT_CHARS)
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = html[start..end].trim();
    (!title.is_empty()).then(|| title.to_owned())
}

fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// `text` on one line: control and bidi-override characters dropped, whitespace runs
/// collapsed, at most `max` characters (then `…`).
pub(super) fn one_line(text: &str, max: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || is_unprintable(c))
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// Characters that would let a foreign body mess with a terminal.
fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with unprintable characters escaped (`\n`, `\u{1b}`): keys may hold them.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unprintable(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}
