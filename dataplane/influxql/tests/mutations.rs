//! Mutated corpus queries (byte flips, truncations, insertions, splices) never panic,
//! and whatever parses prints to text that parses to the same text again.

use serde_json::Value;
use tessera_influxql::parse_query;

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    " ",
    "(",
    ")",
    ",",
    ".",
    "..",
    ";",
    ":",
    "::",
    "'",
    "\"",
    "/",
    "\\",
    "$",
    "$x",
    "*",
    "-",
    "--",
    "/*",
    "*/",
    "=~",
    "!~",
    "<>",
    "\n",
    "\r",
    "\0",
    "µ",
    "é",
    "1",
    "1.5",
    "9999999999999999999999",
    "1h",
    "1x",
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "time(1m)",
    "fill(",
    "tz(",
    "INTO",
    ":MEASUREMENT",
    "LIMIT",
    "ON",
    "WITH KEY",
    "IN",
    "AND",
    "OR",
    "DISTINCT",
    "CARDINALITY",
    "EXACT",
    "RESAMPLE",
    "BEGIN",
    "END",
    "/a/",
    "/(/",
    "'a\\",
    "\"a\\q\"",
];

fn queries() -> Vec<String> {
    let mut out = Vec::new();
    for name in ["valid.json", "errors.json"] {
        let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("corpus");
        let v: Value = serde_json::from_str(&text).expect("json");
        for c in v.as_array().expect("array") {
            out.push(c["query"].as_str().expect("query").to_string());
        }
    }
    out
}

fn mutate(rng: &mut Rng, base: &str, other: &str) -> String {
    let mut b: Vec<char> = base.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(b.len() + 1);
        match rng.below(5) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = char::from_u32(rng.below(0x80) as u32).unwrap_or(' ');
            }
            1 => b.truncate(at),
            2 => {
                let piece = PIECES[rng.below(PIECES.len())];
                b.splice(at..at, piece.chars());
            }
            3 if at < b.len() => {
                let end = (at + rng.below(8)).min(b.len());
                b.drain(at..end);
            }
            _ => {
                let o: Vec<char> = other.chars().collect();
                let from = rng.below(o.len());
                b.splice(at..at, o[from..].iter().copied());
            }
        }
    }
    b.into_iter().collect()
}

#[test]
fn mutated_queries_never_panic() {
    let qs = queries();
    let rounds: usize = std::env::var("INFLUXQL_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..rounds {
        let base = &qs[rng.below(qs.len())];
        let other = &qs[rng.below(qs.len())];
        let q = mutate(&mut rng, base, other);
        if let Ok(ast) = parse_query(&q) {
            let shown = ast.to_string();
            if shown.contains("[REDACTED]") {
                continue;
            }
            // influxd prints some trees it cannot read back (`fill(1e+06)`, `"a.b"` as a
            // segmented name…); when the text does parse, it must be a fixpoint.
            if let Ok(again) = parse_query(&shown) {
                assert_eq!(again.to_string(), shown, "from {q:?}");
            }
        }
    }
}

/// Nesting is bounded: past 20,000 levels of parentheses or call arguments, or 1,000 of
/// subqueries, a query is refused with a parse error (every later step walks the tree
/// recursively); chains of AND/OR of any length are not nesting.
#[test]
fn deep_nesting_is_refused_long_chains_are_not() {
    // Debug-build frames are large: parse on a thread with room for 20,000 levels.
    let run = |q: String| {
        std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn(move || parse_query(&q).map(|_| ()).map_err(|e| e.influxd_text()))
            .unwrap()
            .join()
            .unwrap()
    };
    // `open` n times around `inner`, closed as often.
    let nest = |head: &str, open: &str, inner: &str, n: usize, tail: &str| {
        format!("{head}{}{inner}{}{tail}", open.repeat(n), ")".repeat(n))
    };
    let parens = |n| nest("SELECT v FROM m WHERE ", "(", "a = 1", n, "");
    assert!(run(parens(19_990)).is_ok());
    let err = run(parens(25_000)).unwrap_err();
    assert!(err.contains("nested more than 20000 deep"), "{err}");
    let calls = |n| nest("SELECT ", "abs(", "v", n, " FROM m");
    assert!(run(calls(25_000)).unwrap_err().contains("nested more than"));
    let subqueries = |n| nest("SELECT v FROM ", "(SELECT v FROM ", "m", n, "");
    assert!(run(subqueries(1_000)).is_ok());
    let err = run(subqueries(1_001)).unwrap_err();
    assert!(
        err.contains("subqueries nested more than 1000 deep"),
        "{err}"
    );
    let chain: Vec<String> = (0..100_000).map(|i| format!("a = '{i}'")).collect();
    assert!(run(format!("SELECT v FROM m WHERE {}", chain.join(" OR "))).is_ok());
}
