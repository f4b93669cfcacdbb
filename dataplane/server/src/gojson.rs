//! The first JSON value of a text as Go's `json.Decoder` reads it: where it ends, or the
//! error Go's scanner reports at the first byte it refuses (influxd decodes `params` so,
//! and clients see these texts in its 400 answers).

/// Scans the first JSON value of `text`; `Ok(end)` is the byte just past it (what follows
/// is not read, as with Go's `Decoder.Decode`).
pub fn first_value(text: &str) -> Result<usize, String> {
    let mut s = Scanner {
        b: text.as_bytes(),
        at: 0,
    };
    s.skip_ws();
    if s.at == s.b.len() {
        return Err("EOF".into());
    }
    s.value()?;
    Ok(s.at)
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
}

/// Go's `quoteChar`: the byte as `encoding/json` prints it in errors.
fn quote(c: u8) -> String {
    match c {
        b'\'' => "'\\''".into(),
        b'"' => "'\"'".into(),
        0x20..=0x7e => format!("'{}'", c as char),
        b'\n' => "'\\n'".into(),
        b'\r' => "'\\r'".into(),
        b'\t' => "'\\t'".into(),
        0x80..=0xff => format!("'{}'", char::from(c)),
        _ => format!("'\\x{c:02x}'"),
    }
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self
            .b
            .get(self.at)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    /// The next byte, or Go's decoder error at the end of the input.
    fn peek(&self) -> Result<u8, String> {
        self.b
            .get(self.at)
            .copied()
            .ok_or_else(|| "unexpected EOF".to_string())
    }

    fn bad(&self, c: u8, context: &str) -> String {
        format!("invalid character {} {context}", quote(c))
    }

    fn value(&mut self) -> Result<(), String> {
        let c = self.peek()?;
        match c {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => Err(self.bad(c, "looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), String> {
        let name = std::str::from_utf8(word).unwrap_or_default();
        for &want in word {
            let c = self.peek()?;
            if c != want {
                return Err(self.bad(c, &format!("in literal {name} (expecting {})", quote(want))));
            }
            self.at += 1;
        }
        Ok(())
    }

    /// Steps over the opening `{`/`[` and, when the container is empty, its `close`.
    fn opens_empty(&mut self, close: u8) -> Result<bool, String> {
        self.at += 1;
        self.skip_ws();
        let empty = self.peek()? == close;
        if empty {
            self.at += 1;
        }
        Ok(empty)
    }

    fn object(&mut self) -> Result<(), String> {
        if self.opens_empty(b'}')? {
            return Ok(());
        }
        loop {
            let c = self.peek()?;
            if c != b'"' {
                return Err(self.bad(c, "looking for beginning of object key string"));
            }
            self.string()?;
            self.skip_ws();
            let c = self.peek()?;
            if c != b':' {
                return Err(self.bad(c, "after object key"));
            }
            self.at += 1;
            self.skip_ws();
            self.value()?;
            if self.next_or_close(b'}', "after object key:value pair")? {
                return Ok(());
            }
        }
    }

    /// After a member of an object or array: `,` (more follows: false) or `close` (the
    /// container ends: true); Go names anything else by where it stands.
    fn next_or_close(&mut self, close: u8, context: &str) -> Result<bool, String> {
        self.skip_ws();
        let c = self.peek()?;
        self.at += 1;
        if c == close {
            return Ok(true);
        }
        if c != b',' {
            return Err(self.bad(c, context));
        }
        self.skip_ws();
        Ok(false)
    }

    fn array(&mut self) -> Result<(), String> {
        if self.opens_empty(b']')? {
            return Ok(());
        }
        loop {
            self.value()?;
            if self.next_or_close(b']', "after array element")? {
                return Ok(());
            }
        }
    }

    fn string(&mut self) -> Result<(), String> {
        self.at += 1;
        loop {
            let c = self.peek()?;
            self.at += 1;
            match c {
                b'"' => return Ok(()),
                b'\\' => {
                    let e = self.peek()?;
                    self.at += 1;
                    match e {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            for _ in 0..4 {
                                let h = self.peek()?;
                                if !h.is_ascii_hexdigit() {
                                    return Err(self.bad(h, "in \\u hexadecimal character escape"));
                                }
                                self.at += 1;
                            }
                        }
                        _ => return Err(self.bad(e, "in string escape code")),
                    }
                }
                0..=0x1f => return Err(self.bad(c, "in string literal")),
                _ => {}
            }
        }
    }

    fn digits(&mut self) {
        while self.b.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
    }

    /// A number ends at the first byte that cannot continue it; the enclosing object or
    /// array judges that byte (so `{"a":01}` fails "after object key:value pair").
    fn number(&mut self) -> Result<(), String> {
        if self.peek()? == b'-' {
            self.at += 1;
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(self.bad(c, "in numeric literal"));
            }
        }
        if self.peek()? == b'0' {
            self.at += 1;
        } else {
            self.digits();
        }
        if self.b.get(self.at) == Some(&b'.') {
            self.at += 1;
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(self.bad(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.b.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.b.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            let c = self.peek()?;
            if !c.is_ascii_digit() {
                return Err(self.bad(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_value;

    #[test]
    fn errors_read_as_go_prints_them() {
        let cases = [
            (
                "nope",
                "invalid character 'o' in literal null (expecting 'u')",
            ),
            (
                "trux",
                "invalid character 'x' in literal true (expecting 'e')",
            ),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            (
                "{a:1}",
                "invalid character 'a' looking for beginning of object key string",
            ),
            (
                "{\"a\":1,}",
                "invalid character '}' looking for beginning of object key string",
            ),
            ("{\"a\":-}", "invalid character '}' in numeric literal"),
            (
                "{\"a\":1.5e}",
                "invalid character '}' in exponent of numeric literal",
            ),
            (
                "{\"a\":\"\\x\"}",
                "invalid character 'x' in string escape code",
            ),
            (
                "{\"a\":1 2}",
                "invalid character '2' after object key:value pair",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            ("@", "invalid character '@' looking for beginning of value"),
            ("{\"a\":1", "unexpected EOF"),
            ("", "EOF"),
        ];
        for (text, want) in cases {
            assert_eq!(first_value(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn only_the_first_value_is_read() {
        assert_eq!(first_value(" {\"a\":1}x"), Ok(8));
        assert_eq!(first_value("null"), Ok(4));
        assert_eq!(first_value("[1, {\"b\": [true, -0.5e+3]}]"), Ok(27));
    }
}
