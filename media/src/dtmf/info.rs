//! SIP INFO DTMF bodies: `application/dtmf-relay` (`Signal=5`, `Duration=160`) and
//! `application/dtmf` (a bare key). The body comes from the network: anything unexpected is
//! `None`.

/// The key a body carries, if it carries exactly one readable key.
pub fn parse(body: &str) -> Option<char> {
    let valid = |c: char| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D' | 'a'..='d');
    for line in body.lines() {
        let line = line.trim();
        if let Some((k, v)) = line.split_once('=')
            && k.trim().eq_ignore_ascii_case("signal")
        {
            let v = v.trim();
            return match v {
                "10" => Some('*'),
                "11" => Some('#'),
                _ => v
                    .chars()
                    .next()
                    .filter(|c| valid(*c) && v.len() == 1)
                    .map(|c| c.to_ascii_uppercase()),
            };
        }
    }
    let t = body.trim();
    t.chars()
        .next()
        .filter(|c| valid(*c) && t.len() == 1)
        .map(|c| c.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn bodies() {
        assert_eq!(parse("Signal=5\r\nDuration=160\r\n"), Some('5'));
        assert_eq!(parse("Signal= #\r\n"), Some('#'));
        assert_eq!(parse("Signal=10"), Some('*'));
        assert_eq!(parse("7"), Some('7'));
        assert_eq!(parse("d"), Some('D'));
        assert_eq!(parse("Signal=b"), Some('B'));
        assert_eq!(parse("Signal=55"), None);
        assert_eq!(parse("hello"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("Signal=é"), None);
    }
}
