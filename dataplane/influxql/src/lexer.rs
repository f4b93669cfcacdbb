//! The scanner. It reproduces influxd 1.6.7's rune reader and token buffer, both rings of
//! three with unread counts, because error positions (and a few error texts, such as
//! `found  , expected regex` for `FROM m /x/`) depend on exactly how far they have read.

pub(crate) use crate::token::*;

/// The rune reader: a ring of the last three runes read, with an unread count.
struct Reader<'a> {
    src: &'a str,
    off: usize,
    i: usize,
    n: usize,
    pos: Pos,
    buf: [(char, Pos); 3],
    eof: bool,
}

impl<'a> Reader<'a> {
    fn new(src: &'a str) -> Self {
        Reader {
            src,
            off: 0,
            i: 0,
            n: 0,
            pos: Pos::default(),
            buf: [(EOF, Pos::default()); 3],
            eof: false,
        }
    }

    fn next_src(&mut self) -> char {
        let Some(ch) = self.src[self.off..].chars().next() else {
            return EOF;
        };
        self.off += ch.len_utf8();
        if ch == '\r' {
            // `\r\n` and a lone `\r` both read as one newline.
            if self.src[self.off..].starts_with('\n') {
                self.off += 1;
            }
            return '\n';
        }
        ch
    }

    fn read(&mut self) -> (char, Pos) {
        if self.n > 0 {
            self.n -= 1;
            return self.curr();
        }
        let ch = self.next_src();
        self.i = (self.i + 1) % 3;
        self.buf[self.i] = (ch, self.pos);
        if ch == '\n' {
            self.pos.line += 1;
            self.pos.char = 0;
        } else if !self.eof {
            self.pos.char += 1;
        }
        if ch == EOF {
            self.eof = true;
        }
        self.curr()
    }

    fn unread(&mut self) {
        // Go never unreads past the ring; clamping keeps an odd path from indexing out.
        self.n = (self.n + 1).min(3);
    }

    fn curr(&self) -> (char, Pos) {
        self.buf[(self.i + 3 - self.n) % 3]
    }
}

/// A token with its position and literal text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: Pos,
    pub(crate) lit: String,
}

impl Token {
    fn new(tok: Tok, pos: Pos, lit: impl Into<String>) -> Self {
        Token {
            tok,
            pos,
            lit: lit.into(),
        }
    }

    /// Go's `tokstr`: the literal if there is one, else the token's name.
    pub(crate) fn text(&self) -> &str {
        if self.lit.is_empty() {
            self.tok.name()
        } else {
            &self.lit
        }
    }
}

enum StrErr {
    Bad,
    Escape,
}

/// The scanner over a reader.
pub(crate) struct Scanner<'a> {
    r: Reader<'a>,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Scanner {
            r: Reader::new(src),
        }
    }

    /// The next rune without consuming it (Go's `Parser.peekRune`: an EOF is consumed).
    pub(crate) fn peek_rune(&mut self) -> char {
        let (ch, _) = self.r.read();
        if ch != EOF {
            self.r.unread();
        }
        ch
    }

    pub(crate) fn scan(&mut self) -> Token {
        let (ch0, pos) = self.r.read();
        if is_whitespace(ch0) {
            return self.scan_whitespace(pos);
        } else if is_letter(ch0) || ch0 == '_' {
            self.r.unread();
            return self.scan_ident(true);
        } else if is_digit(ch0) {
            return self.scan_number();
        }
        let t = |tok| Token::new(tok, pos, "");
        match ch0 {
            EOF => t(Tok::Eof),
            '"' => {
                self.r.unread();
                self.scan_ident(true)
            }
            '\'' => self.scan_string(),
            '.' => {
                let (ch1, _) = self.r.read();
                self.r.unread();
                if is_digit(ch1) {
                    return self.scan_number();
                }
                t(Tok::Dot)
            }
            '$' => {
                let tok = self.scan_ident(false);
                let lit = format!("${}", tok.lit);
                if tok.tok != Tok::Ident {
                    return Token::new(tok.tok, pos, lit);
                }
                Token::new(Tok::BoundParam, pos, lit)
            }
            '+' => t(Tok::Add),
            '-' => {
                let (ch1, _) = self.r.read();
                if ch1 == '-' {
                    self.skip_until_newline();
                    return t(Tok::Comment);
                }
                self.r.unread();
                t(Tok::Sub)
            }
            '*' => t(Tok::Mul),
            '/' => {
                let (ch1, _) = self.r.read();
                if ch1 == '*' {
                    if !self.skip_until_end_comment() {
                        return t(Tok::Illegal);
                    }
                    return t(Tok::Comment);
                }
                self.r.unread();
                t(Tok::Div)
            }
            '%' => t(Tok::Mod),
            '&' => t(Tok::BitAnd),
            '|' => t(Tok::BitOr),
            '^' => t(Tok::BitXor),
            '=' => {
                if self.r.read().0 == '~' {
                    return t(Tok::EqRegex);
                }
                self.r.unread();
                t(Tok::Eq)
            }
            '!' => {
                let (ch1, _) = self.r.read();
                if ch1 == '=' {
                    return t(Tok::Neq);
                } else if ch1 == '~' {
                    return t(Tok::NeqRegex);
                }
                self.r.unread();
                Token::new(Tok::Illegal, pos, "!")
            }
            '>' => {
                if self.r.read().0 == '=' {
                    return t(Tok::Gte);
                }
                self.r.unread();
                t(Tok::Gt)
            }
            '<' => {
                let (ch1, _) = self.r.read();
                if ch1 == '=' {
                    return t(Tok::Lte);
                } else if ch1 == '>' {
                    return t(Tok::Neq);
                }
                self.r.unread();
                t(Tok::Lt)
            }
            '(' => t(Tok::LParen),
            ')' => t(Tok::RParen),
            ',' => t(Tok::Comma),
            ';' => t(Tok::Semicolon),
            ':' => {
                if self.r.read().0 == ':' {
                    return t(Tok::DoubleColon);
                }
                self.r.unread();
                t(Tok::Colon)
            }
            other => Token::new(Tok::Illegal, pos, other.to_string()),
        }
    }

    fn scan_whitespace(&mut self, pos: Pos) -> Token {
        let mut buf = String::new();
        buf.push(self.r.curr().0);
        loop {
            let (ch, _) = self.r.read();
            if ch == EOF {
                break;
            } else if !is_whitespace(ch) {
                self.r.unread();
                break;
            }
            buf.push(ch);
        }
        Token::new(Tok::Ws, pos, buf)
    }

    fn skip_until_newline(&mut self) {
        loop {
            let (ch, _) = self.r.read();
            if ch == '\n' || ch == EOF {
                return;
            }
        }
    }

    /// Returns false when the input ends inside the comment.
    fn skip_until_end_comment(&mut self) -> bool {
        loop {
            let (ch1, _) = self.r.read();
            if ch1 == '*' {
                loop {
                    let (ch2, _) = self.r.read();
                    if ch2 == '/' {
                        return true;
                    } else if ch2 == EOF {
                        return false;
                    } else if ch2 != '*' {
                        break;
                    }
                }
            } else if ch1 == EOF {
                return false;
            }
        }
    }

    fn scan_ident(&mut self, lookup_kw: bool) -> Token {
        let (_, pos) = self.r.read();
        self.r.unread();
        let mut buf = String::new();
        loop {
            let (ch, _) = self.r.read();
            if ch == EOF {
                break;
            } else if ch == '"' {
                let t = self.scan_string();
                if matches!(t.tok, Tok::BadString | Tok::BadEscape) {
                    return t;
                }
                return Token::new(Tok::Ident, pos, t.lit);
            } else if is_ident_char(ch) {
                self.r.unread();
                self.scan_bare_ident(&mut buf);
            } else {
                self.r.unread();
                break;
            }
        }
        if lookup_kw {
            let tok = lookup(&buf);
            if tok != Tok::Ident {
                return Token::new(tok, pos, "");
            }
        }
        Token::new(Tok::Ident, pos, buf)
    }

    fn scan_bare_ident(&mut self, buf: &mut String) {
        loop {
            let (ch, _) = self.r.read();
            if ch == EOF {
                break;
            } else if !is_ident_char(ch) {
                self.r.unread();
                break;
            }
            buf.push(ch);
        }
    }

    /// A quoted string; the reader's current rune is the opening quote.
    fn scan_string(&mut self) -> Token {
        self.r.unread();
        let (_, pos) = self.r.curr();
        match self.read_quoted() {
            Ok(s) => Token::new(Tok::Str, pos, s),
            Err((StrErr::Bad, s)) => Token::new(Tok::BadString, pos, s),
            Err((StrErr::Escape, s)) => {
                let (_, pos) = self.r.curr();
                Token::new(Tok::BadEscape, pos, s)
            }
        }
    }

    /// Go's `ScanString`.
    fn read_quoted(&mut self) -> Result<String, (StrErr, String)> {
        let (ending, _) = self.r.read();
        if ending == EOF {
            return Err((StrErr::Bad, String::new()));
        }
        let mut buf = String::new();
        loop {
            let (ch0, _) = self.r.read();
            if ch0 == ending {
                return Ok(buf);
            } else if ch0 == EOF || ch0 == '\n' {
                return Err((StrErr::Bad, buf));
            } else if ch0 == '\\' {
                let (ch1, _) = self.r.read();
                match ch1 {
                    'n' => buf.push('\n'),
                    '\\' => buf.push('\\'),
                    '"' => buf.push('"'),
                    '\'' => buf.push('\''),
                    _ => return Err((StrErr::Escape, format!("\\{ch1}"))),
                }
            } else {
                buf.push(ch0);
            }
        }
    }

    /// Go's `ScanRegex`: `/…/` where `\/` is a slash and other escapes pass through.
    pub(crate) fn scan_regex(&mut self) -> Token {
        let (_, pos) = self.r.curr();
        let (start, _) = self.r.read();
        if start != '/' {
            return Token::new(Tok::BadRegex, pos, "");
        }
        let mut buf = String::new();
        loop {
            let (ch0, _) = self.r.read();
            if ch0 == '/' {
                return Token::new(Tok::Regex, pos, buf);
            } else if ch0 == EOF || ch0 == '\n' {
                return Token::new(Tok::BadRegex, pos, "");
            } else if ch0 == '\\' {
                let (ch1, _) = self.r.read();
                if ch1 == EOF {
                    return Token::new(Tok::BadRegex, pos, "");
                }
                if ch1 == '/' {
                    buf.push('/');
                } else {
                    self.r.unread();
                    buf.push('\\');
                }
            } else {
                buf.push(ch0);
            }
        }
    }

    fn scan_number(&mut self) -> Token {
        let (ch, pos) = self.r.curr();
        let mut buf = String::new();
        if ch == '.' {
            let (ch1, _) = self.r.read();
            self.r.unread();
            if !is_digit(ch1) {
                return Token::new(Tok::Illegal, pos, ".");
            }
            self.r.unread();
        } else {
            self.r.unread();
        }
        self.scan_digits(&mut buf);
        let mut is_decimal = false;
        if self.r.read().0 == '.' {
            is_decimal = true;
            let (ch1, _) = self.r.read();
            if is_digit(ch1) {
                buf.push('.');
                buf.push(ch1);
                self.scan_digits(&mut buf);
            } else {
                self.r.unread();
            }
        } else {
            self.r.unread();
        }
        if is_decimal {
            return Token::new(Tok::Number, pos, buf);
        }
        let (ch0, _) = self.r.read();
        if is_letter(ch0) || ch0 == 'µ' {
            buf.push(ch0);
            loop {
                let (ch1, _) = self.r.read();
                if !is_letter(ch1) && ch1 != 'µ' {
                    self.r.unread();
                    break;
                }
                buf.push(ch1);
            }
            loop {
                let (ch1, _) = self.r.read();
                if is_letter(ch1) || ch1 == 'µ' || is_digit(ch1) {
                    buf.push(ch1);
                } else {
                    self.r.unread();
                    break;
                }
            }
            return Token::new(Tok::DurationVal, pos, buf);
        }
        self.r.unread();
        Token::new(Tok::Integer, pos, buf)
    }

    fn scan_digits(&mut self, buf: &mut String) {
        loop {
            let (ch, _) = self.r.read();
            if !is_digit(ch) {
                self.r.unread();
                break;
            }
            buf.push(ch);
        }
    }
}

/// Which scan function a buffered read uses.
#[derive(Clone, Copy)]
pub(crate) enum ScanKind {
    Normal,
    Regex,
}

/// Go's `bufScanner`: a ring of the last three tokens with an unscan count.
pub(crate) struct TokenBuffer<'a> {
    pub(crate) s: Scanner<'a>,
    i: usize,
    n: usize,
    buf: [Option<Token>; 3],
}

impl<'a> TokenBuffer<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        TokenBuffer {
            s: Scanner::new(src),
            i: 0,
            n: 0,
            buf: [None, None, None],
        }
    }

    pub(crate) fn scan(&mut self, kind: ScanKind) -> Token {
        if self.n > 0 {
            self.n -= 1;
            return self.curr();
        }
        self.i = (self.i + 1) % 3;
        let t = match kind {
            ScanKind::Normal => self.s.scan(),
            ScanKind::Regex => self.s.scan_regex(),
        };
        self.buf[self.i] = Some(t);
        self.curr()
    }

    pub(crate) fn unscan(&mut self) {
        self.n = (self.n + 1).min(3);
    }

    fn curr(&self) -> Token {
        self.buf[(self.i + 3 - self.n) % 3]
            .clone()
            .unwrap_or_else(|| Token::new(Tok::Eof, Pos::default(), ""))
    }
}
