//! A syntax check of regular expressions that gives Go's `regexp/syntax` error texts
//! (`error parsing regexp: missing closing ): `(``), which influxd returns for a bad
//! `/regex/`. It only validates; matching is the engine's business.

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Unicode general categories and scripts Go's `\p{…}` knows (Go 1.10, Unicode 10).
const UNICODE_NAMES: &str = "Any C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd \
Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan \
Balinese Bamum Bassa_Vah Batak Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid \
Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham Cherokee Common Coptic Cuneiform \
Cypriot Cyrillic Deseret Devanagari Duployan Egyptian_Hieroglyphs Elbasan Ethiopic Georgian \
Glagolitic Gothic Grantha Greek Gujarati Gurmukhi Han Hangul Hanunoo Hatran Hebrew Hiragana \
Imperial_Aramaic Inherited Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada \
Katakana Kayah_Li Kharoshthi Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A Linear_B \
Lisu Lycian Lydian Mahajani Malayalam Mandaic Manichaean Marchen Masaram_Gondi Meetei_Mayek \
Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar \
Nabataean New_Tai_Lue Newa Nko Nushu Ogham Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian \
Old_Permic Old_Persian Old_South_Arabian Old_Turkic Oriya Osage Osmanya Pahawh_Hmong Palmyrene \
Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada \
Shavian Siddham SignWriting Sinhala Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog \
Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan Tifinagh \
Tirhuta Ugaritic Vai Warang_Citi Yi Zanabazar_Square";

/// Checks `pattern` as Go's `regexp.Compile` would; the error is Go's text.
pub(crate) fn check_regex(pattern: &str) -> Result<(), String> {
    Checker {
        whole: pattern,
        depth: 0,
        operand: false,
    }
    .run()
    .map_err(|(code, expr)| format!("error parsing regexp: {code}: `{expr}`"))
}

type Fail = (&'static str, String);

struct Checker<'a> {
    whole: &'a str,
    depth: usize,
    /// Whether the top of Go's parse stack is a real expression (a repetition target).
    operand: bool,
}

fn fail<T>(code: &'static str, expr: &str) -> Result<T, Fail> {
    Err((code, expr.to_string()))
}

/// Text of `before` up to where `after` starts.
fn upto<'a>(before: &'a str, after: &str) -> &'a str {
    &before[..before.len() - after.len()]
}

fn first_char(s: &str) -> Option<char> {
    s.chars().next()
}

fn skip_char(s: &str) -> &str {
    let mut it = s.chars();
    it.next();
    it.as_str()
}

/// Go's `parseInt` for repeat counts: digits without a leading zero; -1 when too big.
fn parse_count(s: &str) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if b.is_empty() || !b[0].is_ascii_digit() {
        return None;
    }
    if b.len() >= 2 && b[0] == b'0' && b[1].is_ascii_digit() {
        return None;
    }
    let n_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut n: i64 = 0;
    for &c in &b[..n_digits] {
        if n >= 100_000_000 {
            n = -1;
            break;
        }
        n = n * 10 + (c - b'0') as i64;
    }
    Some((n, &s[n_digits..]))
}

/// Go's `parseRepeat`: `{n}`, `{n,}`, `{n,m}`; `None` when it is a literal `{`.
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (mut min, s) = parse_count(s)?;
    let (max, s) = if let Some(rest) = s.strip_prefix(',') {
        if rest.starts_with('}') {
            (-1, rest)
        } else {
            let (max, rest) = parse_count(rest)?;
            if max < 0 {
                min = -1;
            }
            (max, rest)
        }
    } else {
        (min, s)
    };
    let rest = s.strip_prefix('}')?;
    Some((min, max, rest))
}

impl<'a> Checker<'a> {
    fn run(mut self) -> Result<(), Fail> {
        let mut t: &'a str = self.whole;
        let mut last_repeat: &'a str = "";
        while let Some(c) = first_char(t) {
            let mut repeat: &'a str = "";
            match c {
                '(' => {
                    if t.starts_with("(?") {
                        t = self.perl_flags(t)?;
                    } else {
                        self.depth += 1;
                        self.operand = false;
                        t = &t[1..];
                    }
                }
                '|' => {
                    self.operand = false;
                    t = &t[1..];
                }
                ')' => {
                    if self.depth == 0 {
                        return fail("unexpected )", self.whole);
                    }
                    self.depth -= 1;
                    self.operand = true;
                    t = &t[1..];
                }
                '^' | '$' | '.' => {
                    self.operand = true;
                    t = &t[1..];
                }
                '[' => {
                    t = self.class(t)?;
                    self.operand = true;
                }
                '*' | '+' | '?' => {
                    let before = t;
                    t = self.repeat(before, &t[1..], last_repeat)?;
                    repeat = before;
                }
                '{' => {
                    let before = t;
                    match parse_repeat(t) {
                        None => {
                            self.operand = true;
                            t = &t[1..];
                        }
                        Some((min, max, after)) => {
                            if !(0..=1000).contains(&min) || max > 1000 || (max >= 0 && min > max) {
                                return fail("invalid repeat count", upto(before, after));
                            }
                            t = self.repeat(before, after, last_repeat)?;
                            repeat = before;
                        }
                    }
                }
                '\\' => {
                    t = self.top_escape(t)?;
                    self.operand = true;
                }
                _ => {
                    self.operand = true;
                    t = skip_char(t);
                }
            }
            last_repeat = repeat;
        }
        if self.depth > 0 {
            return fail("missing closing )", self.whole);
        }
        Ok(())
    }

    fn repeat(&mut self, before: &'a str, after: &'a str, last: &'a str) -> Result<&'a str, Fail> {
        let after = after.strip_prefix('?').unwrap_or(after);
        if !last.is_empty() {
            return fail("invalid nested repetition operator", upto(last, after));
        }
        if !self.operand {
            return fail(
                "missing argument to repetition operator",
                upto(before, after),
            );
        }
        Ok(after)
    }

    /// `(?P<name>`, `(?flags)`, `(?flags:`.
    fn perl_flags(&mut self, s: &'a str) -> Result<&'a str, Fail> {
        if s.len() > 4 && s[2..].starts_with("P<") {
            let Some(end) = s.find('>') else {
                return fail("invalid named capture", s);
            };
            let name = &s[4..end];
            if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                return fail("invalid named capture", &s[..=end]);
            }
            self.depth += 1;
            self.operand = false;
            return Ok(&s[end + 1..]);
        }
        let mut t = &s[2..];
        let mut negated = false;
        let mut saw_flag = false;
        while let Some(c) = first_char(t) {
            t = skip_char(t);
            match c {
                'i' | 'm' | 's' | 'U' => saw_flag = true,
                '-' => {
                    if negated {
                        break;
                    }
                    negated = true;
                    saw_flag = false;
                }
                ':' | ')' => {
                    if negated && !saw_flag {
                        break;
                    }
                    if c == ':' {
                        self.depth += 1;
                        self.operand = false;
                    }
                    return Ok(t);
                }
                _ => break,
            }
        }
        fail("invalid or unsupported Perl syntax", upto(s, t))
    }

    /// A backslash outside a class.
    fn top_escape(&mut self, t: &'a str) -> Result<&'a str, Fail> {
        match t.as_bytes().get(1) {
            Some(b'A' | b'b' | b'B' | b'z') => return Ok(&t[2..]),
            Some(b'Q') => {
                let lit = &t[2..];
                return Ok(match lit.find("\\E") {
                    Some(i) => &lit[i + 2..],
                    None => "",
                });
            }
            _ => {}
        }
        if let Some(rest) = self.unicode_class(t)? {
            return Ok(rest);
        }
        if let Some(rest) = perl_class(t) {
            return Ok(rest);
        }
        escape(t)
    }

    /// `\pN`, `\p{Greek}`, `\P{^L}`; `None` if `s` is not one.
    fn unicode_class(&self, s: &'a str) -> Result<Option<&'a str>, Fail> {
        if !(s.starts_with("\\p") || s.starts_with("\\P")) {
            return Ok(None);
        }
        let t = &s[2..];
        let (seq, name, rest) = if t.starts_with('{') {
            let Some(end) = s.find('}') else {
                return fail("invalid character class range", s);
            };
            (&s[..=end], &s[3..end], &s[end + 1..])
        } else {
            let rest = skip_char(t);
            let seq = upto(s, rest);
            (seq, &seq[2..], rest)
        };
        let name = name.strip_prefix('^').unwrap_or(name);
        if !UNICODE_NAMES.split_ascii_whitespace().any(|n| n == name) {
            return fail("invalid character class range", seq);
        }
        Ok(Some(rest))
    }

    /// `[…]`; returns the text after the closing bracket.
    fn class(&self, s: &'a str) -> Result<&'a str, Fail> {
        let mut t = &s[1..];
        if t.starts_with('^') {
            t = &t[1..];
        }
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            if t.len() > 2 && t.starts_with("[:") {
                if let Some(i) = t[2..].find(":]") {
                    let name = &t[..i + 4];
                    let inner = &name[2..name.len() - 2];
                    let inner = inner.strip_prefix('^').unwrap_or(inner);
                    if !POSIX_CLASSES.contains(&inner) {
                        return fail("invalid character class range", name);
                    }
                    t = &t[i + 4..];
                    continue;
                }
            }
            if let Some(rest) = self.unicode_class(t)? {
                t = rest;
                continue;
            }
            if let Some(rest) = perl_class(t) {
                t = rest;
                continue;
            }
            let rng = t;
            let (lo, rest) = class_char(t, s)?;
            t = rest;
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (hi, rest) = class_char(&t[1..], s)?;
                t = rest;
                if hi < lo {
                    return fail("invalid character class range", upto(rng, t));
                }
            }
        }
        Ok(&t[1..])
    }
}

/// `\d \D \s \S \w \W`.
fn perl_class(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'\\' && matches!(b[1], b'd' | b'D' | b's' | b'S' | b'w' | b'W') {
        Some(&s[2..])
    } else {
        None
    }
}

fn class_char<'a>(s: &'a str, whole_class: &str) -> Result<(u32, &'a str), Fail> {
    match first_char(s) {
        None => fail("missing closing ]", whole_class),
        Some('\\') => escape_value(s),
        Some(c) => Ok((c as u32, skip_char(s))),
    }
}

fn escape(s: &str) -> Result<&str, Fail> {
    escape_value(s).map(|(_, rest)| rest)
}

fn hex(c: char) -> Option<u32> {
    c.to_digit(16)
}

/// Go's `parseEscape`: the escaped value and the rest.
fn escape_value(s: &str) -> Result<(u32, &str), Fail> {
    let t = &s[1..];
    let Some(c) = first_char(t) else {
        return fail("trailing backslash at end of expression", "");
    };
    let mut t = skip_char(t);
    let octal = |t: &str| {
        t.as_bytes()
            .first()
            .is_some_and(|b| (b'0'..=b'7').contains(b))
    };
    match c {
        '1'..='7' if !octal(t) => {}
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            for _ in 1..3 {
                if !octal(t) {
                    break;
                }
                r = r * 8 + (t.as_bytes()[0] - b'0') as u32;
                t = &t[1..];
            }
            return Ok((r, t));
        }
        'x' if !t.is_empty() => {
            let c1 = first_char(t).unwrap_or('\0');
            t = skip_char(t);
            if c1 == '{' {
                let mut n = 0;
                let mut r: u32 = 0;
                while let Some(c2) = first_char(t) {
                    t = skip_char(t);
                    if c2 == '}' {
                        if n > 0 {
                            return Ok((r, t));
                        }
                        break;
                    }
                    let Some(v) = hex(c2) else { break };
                    r = r.saturating_mul(16).saturating_add(v);
                    if r > 0x10FFFF {
                        break;
                    }
                    n += 1;
                }
            } else {
                let x = hex(c1);
                let c2 = first_char(t);
                t = if t.is_empty() { t } else { skip_char(t) };
                if let (Some(x), Some(y)) = (x, c2.and_then(hex)) {
                    return Ok((x * 16 + y, t));
                }
            }
        }
        'a' => return Ok((7, t)),
        'f' => return Ok((12, t)),
        'n' => return Ok((10, t)),
        'r' => return Ok((13, t)),
        't' => return Ok((9, t)),
        'v' => return Ok((11, t)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => return Ok((c as u32, t)),
        _ => {}
    }
    fail("invalid escape sequence", upto(s, t))
}

#[cfg(test)]
mod tests {
    use super::check_regex;

    fn err(p: &str) -> String {
        check_regex(p).err().unwrap_or_default()
    }

    #[test]
    fn go_texts() {
        assert_eq!(err("("), "error parsing regexp: missing closing ): `(`");
        assert_eq!(err("["), "error parsing regexp: missing closing ]: `[`");
        assert_eq!(
            err("a**"),
            "error parsing regexp: invalid nested repetition operator: `**`"
        );
        assert_eq!(
            err("x{2,1}"),
            "error parsing regexp: invalid repeat count: `{2,1}`"
        );
        assert_eq!(err(")"), "error parsing regexp: unexpected ): `)`");
        assert_eq!(
            err("[z-a]"),
            "error parsing regexp: invalid character class range: `z-a`"
        );
        assert_eq!(
            err("(?P<>a)"),
            "error parsing regexp: invalid named capture: `(?P<>`"
        );
        assert_eq!(
            err("(?z)"),
            "error parsing regexp: invalid or unsupported Perl syntax: `(?z`"
        );
        assert_eq!(
            err("*"),
            "error parsing regexp: missing argument to repetition operator: `*`"
        );
        assert_eq!(
            err("\\8"),
            "error parsing regexp: invalid escape sequence: `\\8`"
        );
        assert_eq!(
            err("a\\"),
            "error parsing regexp: trailing backslash at end of expression: ``"
        );
        for ok in [
            "^cpu$",
            "a{,5}",
            "(?i)x",
            "[[:alpha:]]",
            "\\p{Greek}",
            "a*?",
            "x{2}",
            "\\.",
            "^*",
        ] {
            assert_eq!(check_regex(ok), Ok(()), "{ok}");
        }
    }
}
